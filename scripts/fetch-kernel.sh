#!/usr/bin/env bash
# Fetches Debian's generic amd64 kernel for the guest into a cache, without installing it into the
# host's /boot: apt-get download + dpkg-deb -x, depmod -b on the extracted tree, and the ELF vmlinux
# extracted from the bzImage (QEMU boots it through its PVH entry: skipping the XZ decompression of the
# bzImage saves ~4 s per boot under TCG, see docs/boot.md).
#
# usage: fetch-kernel.sh [CACHE_DIR]   (default $MCPVM_KERNEL_CACHE or /var/lib/mcpvm/kernel)
# Result: CACHE_DIR/<kernel version>/{vmlinux,bzImage,lib/modules/<version>/...} and CACHE_DIR/current
# (a symlink to the version directory). Idempotent: a complete cache entry is left alone.
set -euo pipefail

cache=${1:-${MCPVM_KERNEL_CACHE:-/var/lib/mcpvm/kernel}}

# linux-image-amd64 is a metapackage; its dependency names the real package (linux-image-6.1.0-NN-amd64).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
  echo "fetch-kernel.sh: cannot find linux-image-amd64's kernel package (run apt-get update?)" >&2
  exit 1
fi
version=${pkg#linux-image-}
dest=$cache/$version

if [ -f "$dest/.complete" ]; then
  ln -sfn "$version" "$cache/current"
  exit 0
fi

mkdir -p "$cache"
chmod 0755 "$cache"
work=$(mktemp -d "$cache/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch-kernel.sh: downloading $pkg" >&2
(cd "$work" && apt-get download -q "$pkg" >&2)
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/root"

tree=$work/tree
mkdir -p "$tree/lib"
mv "$work/root/lib/modules" "$tree/lib/modules"
cp "$work/root/boot/vmlinuz-$version" "$tree/bzImage"
depmod -b "$tree" "$version"

# The bzImage's setup header: payload_offset (u32 at 0x248) relative to the protected-mode code, which
# starts at (setup_sects (u8 at 0x1f1) + 1) * 512; payload_length (u32 at 0x24c). The payload is XZ.
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$tree/bzImage" | tr -d ' ')
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_offset=$(u32 "$tree/bzImage" $((0x248)))
payload_length=$(u32 "$tree/bzImage" $((0x24c)))
start=$(((setup_sects + 1) * 512 + payload_offset))
tail -c +$((start + 1)) "$tree/bzImage" | head -c "$payload_length" | xz -dc -q >"$tree/vmlinux" 2>/dev/null || true
if [ "$(head -c4 "$tree/vmlinux" | od -An -tx1 | tr -d ' ')" != "7f454c46" ]; then
  echo "fetch-kernel.sh: could not extract an ELF vmlinux from $pkg's bzImage" >&2
  exit 1
fi
echo "$version" >"$tree/version"
touch "$tree/.complete"
rm -rf "$dest"
mv "$tree" "$dest"
chmod -R a+rX "$dest"
ln -sfn "$version" "$cache/current"
echo "fetch-kernel.sh: kernel $version in $dest" >&2
