#!/usr/bin/env python3
"""bench/volume's QEMU (MCPVM_QEMU): runs QEMU with the VM's one volume served another way, so the same guest
workload can be timed through it. MCPVM_BENCH_VOLUME:
  9p-loose   the 9p volume mounted with cache=loose instead of mcpvm's cache=mmap
  virtiofs   the volume's directory served by Debian's C virtiofsd instead of QEMU's 9p: a vhost-user-fs
             device (tag "vfs"), guest RAM in a shared memfd (share=on, which virtiofs needs), the fuse and
             virtiofs modules added to the initramfs
  (unset)    QEMU unchanged
The guest's mount is changed by appending a second cpio archive to mcpvm's initramfs (its config.json and
the modules override the first archive's). mcpvm has no virtiofs support: this exists only to measure it."""
import json, os, subprocess, sys, tempfile, time

QEMU = "qemu-system-x86_64"
args = sys.argv[1:]
mode = os.environ.get("MCPVM_BENCH_VOLUME", "")
if not mode:
    os.execvp(QEMU, [QEMU] + args)


def cpio_entries(data):
    pos = 0
    while pos + 110 <= len(data):
        fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        name = data[pos + 110 : pos + 110 + namesize - 1].decode()
        start = (pos + 110 + namesize + 3) & ~3
        yield name, fields[1], data[start : start + size]
        pos = (start + size + 3) & ~3
        if name == "TRAILER!!!":
            return


def cpio(files):
    out = bytearray()
    for ino, (name, mode, body) in enumerate(files + [("TRAILER!!!", 0, b"")], start=1):
        nb = name.encode() + b"\0"
        out += b"070701" + b"".join(b"%08x" % v for v in (ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(nb), 0))
        out += nb + b"\0" * ((4 - (110 + len(nb)) % 4) % 4)
        out += body + b"\0" * ((4 - len(body) % 4) % 4)
    return bytes(out)


i = args.index("-initrd")
initrd = open(args[i + 1], "rb").read()
config = json.loads(next(body for name, _, body in cpio_entries(initrd) if name == "mcpvm/config.json"))
extra = []
if mode == "9p-loose":
    for m in config["mounts"]:
        m["options"] = m["options"].replace("cache=mmap", "cache=loose")
elif mode == "virtiofs":
    fsdev = next(a for a in args if a.startswith("local,id=vol0,"))
    host = fsdev.split("path=", 1)[1].split(",security_model")[0].replace(",,", ",")
    drop = {a for a in args if a.startswith("local,id=vol") or a.startswith("virtio-9p-device")}
    kept = []
    for a in args:
        if a in drop:
            kept.pop()  # its -fsdev / -device flag
        else:
            kept.append(a)
    args = kept
    sock = tempfile.mktemp(prefix="mcpvm-bench-vfs-", suffix=".sock")
    subprocess.Popen(["/usr/lib/qemu/virtiofsd", "--socket-path=" + sock, "-o", "source=" + host, "-o", "cache=auto"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    mem = args[args.index("-m") + 1]
    args += ["-chardev", "socket,id=vfs,path=" + sock, "-device", "vhost-user-fs-device,chardev=vfs,tag=vfs",
             "-object", "memory-backend-memfd,id=mem,size=%sM,share=on" % mem, "-machine", "memory-backend=mem",
             "-global", "virtio-mmio.force-legacy=false"]
    mods = os.environ["MCPVM_BENCH_KMODS"]
    for ko in ("fuse.ko", "virtiofs.ko"):
        extra.append(("mcpvm/modules/" + ko, 0o100600, open(os.path.join(mods, ko), "rb").read()))
        config["modules"].append(ko)
    config["mounts"] = [{"tag": "vfs", "path": config["mounts"][0]["path"], "read_only": False,
                         "options": "", "fstype": "virtiofs"}]
else:
    sys.exit("MCPVM_BENCH_VOLUME=%s: expected 9p-loose or virtiofs" % mode)
extra.append(("mcpvm/config.json", 0o100600, json.dumps(config).encode()))
fd = os.memfd_create("bench-initrd", 0)
os.write(fd, initrd + cpio(extra))
args[i + 1] = "/dev/fd/%d" % fd
os.execvp(QEMU, [QEMU] + args)
