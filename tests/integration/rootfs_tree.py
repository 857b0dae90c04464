#!/usr/bin/env python3
"""Oracle helpers for the rootfs integration test.

  rootfs_tree.py layers OUT_DIR        writes the crafted layer tars of the multi-layer test image
  rootfs_tree.py compare OURS THEIRS   compares two unpacked trees (ours: unsquashfs of the mcpvm squashfs,
                                       theirs: `umoci unpack`'s rootfs); prints differences, exit 1 if any

A tree listing has, per path: type, full mode (incl. setuid/setgid/sticky), uid, gid, size, link target,
content sha256, device numbers, xattrs, mtime (non-directories) and hard-link groups.
"""
import hashlib
import io
import os
import stat
import sys
import tarfile

CAP = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_raw+ep


def add(t, name, kind="file", data=b"", mode=None, uid=0, gid=0, link="", xattrs=None, mtime=1600000000):
    ti = tarfile.TarInfo(name)
    ti.uid, ti.gid, ti.mtime = uid, gid, mtime
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
               "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    ti.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o777 if kind == "symlink" else 0o644)
    ti.linkname = link
    if kind == "chr":
        ti.devmajor, ti.devminor = 1, 3
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v.decode("latin-1") for k, v in xattrs.items()}
    if kind == "file":
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def write_layers(out):
    os.makedirs(out, exist_ok=True)
    # Layer 2, on top of busybox: things later layers will hide or replace, and every special attribute.
    with tarfile.open(os.path.join(out, "layer2.tar"), "w", format=tarfile.PAX_FORMAT, encoding="latin-1") as t:
        add(t, "etc/", "dir")
        add(t, "etc/motd", data=b"hello\n")
        add(t, "etc/keep.conf", data=b"keep\n", mode=0o600)
        add(t, "opt/", "dir")
        add(t, "opt/app/", "dir", mode=0o750, uid=1000, gid=1000)
        add(t, "opt/app/a", data=b"shared inode\n" * 100)
        add(t, "opt/app/a-link", "hardlink", link="opt/app/a")
        add(t, "opt/old/", "dir")
        add(t, "opt/old/gone", data=b"hidden by the opaque marker\n")
        add(t, "opt/old/sub/", "dir")
        add(t, "opt/old/sub/deep", data=b"also hidden\n")
        add(t, "usr/", "dir")
        add(t, "usr/share/", "dir")
        add(t, "usr/share/doc/", "dir")
        add(t, "usr/share/doc/readme", data=b"whited out with its directory\n")
        add(t, "usr/bin/", "dir")
        add(t, "usr/bin/ping", data=b"\x7fELF fake ping", mode=0o755, xattrs={"security.capability": CAP})
        add(t, "usr/bin/sudo", data=b"\x7fELF fake sudo", mode=0o4755)
        add(t, "usr/bin/wall", data=b"\x7fELF fake wall", mode=0o2755, gid=5)
        add(t, "dev/", "dir")
        add(t, "dev/null", "chr", mode=0o666)
        add(t, "run/", "dir")
        add(t, "run/ctl", "fifo", mode=0o600)
        add(t, "var/", "dir")
        add(t, "var/run", "symlink", link="../run")
        add(t, "var/abs", "symlink", link="/etc/motd")
        add(t, "replace-me-dir", data=b"a file that becomes a directory\n")
        add(t, "replace-me-file/", "dir")
        add(t, "replace-me-file/child", data=b"goes away\n")
        add(t, "big.bin", data=bytes(range(256)) * 4096 * 3)  # 3 MiB, several squashfs blocks
    # Layer 3: whiteouts, an opaque marker that sorts AFTER a sibling of its own layer, replacements.
    with tarfile.open(os.path.join(out, "layer3.tar"), "w", format=tarfile.PAX_FORMAT) as t:
        add(t, "etc/", "dir")
        add(t, "etc/.wh.motd")
        add(t, "opt/", "dir")
        add(t, "opt/app/", "dir", mode=0o750, uid=1000, gid=1000)
        add(t, "opt/app/owned", data=b"mine\n", mode=0o640, uid=1000, gid=1000)
        add(t, "opt/old/", "dir", mode=0o700)
        add(t, "opt/old/new", data=b"visible\n")
        add(t, "opt/old/.wh..wh..opq")
        add(t, "usr/", "dir")
        add(t, "usr/share/", "dir")
        add(t, "usr/share/.wh.doc")
        add(t, "replace-me-dir/", "dir")
        add(t, "replace-me-dir/child", data=b"now a directory\n")
        add(t, "replace-me-file", data=b"now a file\n")
    # Layer 4 (stored uncompressed): a GNU-format layer with a long name and a replaced file.
    with tarfile.open(os.path.join(out, "layer4.tar"), "w", format=tarfile.GNU_FORMAT) as t:
        add(t, "srv/", "dir")
        add(t, "srv/" + "long-name-" * 20 + "end", data=b"long\n")
        add(t, "etc/", "dir")
        add(t, "etc/keep.conf", data=b"replaced\n", mode=0o644)


def listing(root):
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [""] + sorted(dirnames + filenames) if dirpath == root else sorted(dirnames + filenames):
            path = os.path.join(dirpath, name) if name else dirpath
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            e = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    e["sha256"] = hashlib.sha256(f.read()).hexdigest()
                e["size"] = st.st_size
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            if stat.S_ISLNK(st.st_mode):
                e["link"] = os.readlink(path)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            if not stat.S_ISDIR(st.st_mode):
                e["mtime"] = int(st.st_mtime)
            try:
                xs = os.listxattr(path, follow_symlinks=False)
            except OSError:
                xs = []
            e["xattrs"] = {x: os.getxattr(path, x, follow_symlinks=False).hex() for x in sorted(xs)}
            entries[rel] = e
    for group in inodes.values():
        for p in group:
            entries[p]["hardlinks"] = sorted(group)
    return entries


def compare(ours, theirs):
    a, b = listing(ours), listing(theirs)
    diffs = []
    for p in sorted(set(a) | set(b)):
        if p not in a:
            diffs.append(f"missing in ours: {p!r} {b[p]}")
        elif p not in b:
            diffs.append(f"extra in ours:   {p!r} {a[p]}")
        elif a[p] != b[p]:
            diffs.append(f"differs: {p!r}\n  ours:   {a[p]}\n  theirs: {b[p]}")
    for d in diffs[:50]:
        print(d)
    print(f"{len(a)} paths in ours, {len(b)} in theirs, {len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    if sys.argv[1] == "layers":
        write_layers(sys.argv[2])
    elif sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: rootfs_tree.py layers OUT | compare OURS THEIRS")
