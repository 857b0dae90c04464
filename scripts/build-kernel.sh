#!/usr/bin/env bash
# Builds the optional minimal guest kernel (`make kernel`): Debian's linux-source-6.1 configured from
# `make allnoconfig` plus scripts/kernel/mcpvm-guest.config, everything built in, no modules. Never
# required: the default guest kernel stays Debian's (scripts/fetch-kernel.sh, `current` is not touched).
#
# usage: build-kernel.sh [CACHE_DIR]   (default $MCPVM_KERNEL_CACHE or /var/lib/mcpvm/kernel)
# Result: CACHE_DIR/<version>/ with vmlinux (ELF, PVH entry), version, .config and
# lib/modules/<version>/{modules.dep (empty), modules.builtin}; <version> is e.g. 6.1.192-mcpvm.
# Boot it with MCPVM_KERNEL=CACHE_DIR/<version>/vmlinux (or --kernel): mcpvm finds lib/modules beside
# the vmlinux, and every module it would load is listed in modules.builtin, so it loads none.
# Idempotent: an entry whose .complete marker matches the source version and the config fragment is
# left alone; a changed fragment rebuilds and replaces it atomically. ~1.6 GB of temporary disk space,
# ~15 min on 2 cores.
set -euo pipefail

cache=${1:-${MCPVM_KERNEL_CACHE:-/var/lib/mcpvm/kernel}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/kernel/mcpvm-guest.config
srcpkg=linux-source-6.1
# What the build needs beyond build-essential: the source, Kconfig's parser generators, objtool's
# libelf, bc for the timeconst header. Only this script installs them (scripts/deps.sh does not).
needed=("$srcpkg" bc bison flex libelf-dev gcc make xz-utils binutils)
# The drivers mcpvm would otherwise load as modules (vm/kernel.cpp base_modules + network_modules):
# each must be built in, i.e. listed in modules.builtin.
builtin_required=(virtio_mmio virtio_blk virtio_console squashfs overlay virtio_net)
jobs=${MCPVM_KERNEL_JOBS:-2}
# For work on the fragment: MCPVM_KERNEL_BUILD_DIR=DIR keeps the unpacked, built tree in DIR, so the
# next run rebuilds only what a changed option touches (the default builds in a temp dir and deletes it).
keep=${MCPVM_KERNEL_BUILD_DIR:-}

log() { echo "build-kernel.sh: $*" >&2; }
die() { log "$*"; exit 1; }

missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "needs ${missing[*]}: run as root (apt-get install) or install them first"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

tarball=/usr/src/$srcpkg.tar.xz
[ -f "$tarball" ] || die "$tarball is missing although $srcpkg is installed"
# The marker's key: which source and which fragment the entry was built from.
key="$srcpkg $(dpkg-query -W -f='${Version}' "$srcpkg") fragment $(sha256sum "$fragment" | cut -d' ' -f1)"
for marker in "$cache"/*-mcpvm/.complete; do
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$key" ]; then
    log "up to date: $(dirname "$marker")/vmlinux"
    exit 0
  fi
done

mkdir -p "$cache"
chmod 0755 "$cache"
work=$(mktemp -d "$cache/.build-kernel-XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  src=$(cd "$keep" && pwd)/$srcpkg
else
  src=$work/$srcpkg
fi
if [ ! -f "$src/.unpacked" ]; then
  log "unpacking $tarball"
  rm -rf "$src"
  tar -xf "$tarball" -C "$(dirname "$src")"
  touch "$src/.unpacked"
fi
[ -f "$src/Makefile" ] || die "$tarball did not unpack to $srcpkg/"
kmake() { make -C "$src" ARCH=x86_64 "$@"; }

# allnoconfig with KCONFIG_ALLCONFIG forces the fragment's values; everything else is "no" (or its
# default where the option has no prompt). olddefconfig then settles what those choices imply.
kmake -s KCONFIG_ALLCONFIG="$fragment" allnoconfig >&2
kmake -s olddefconfig >&2

# Kconfig silently drops a value whose dependencies are missing: check every line of the fragment.
dropped=()
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    grep -qxF "$line" "$src/.config" || dropped+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]} (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$src/.config" || echo absent))")
  elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    ! grep -q "^${BASH_REMATCH[1]}=" "$src/.config" || dropped+=("${BASH_REMATCH[1]} should be off (got: $(grep "^${BASH_REMATCH[1]}=" "$src/.config"))")
  fi
done <"$fragment"
if [ ${#dropped[@]} -gt 0 ]; then
  log "the kernel configuration lost options of $fragment (missing dependencies?):"
  printf '  %s\n' "${dropped[@]}" >&2
  exit 1
fi

version=$(kmake -s kernelrelease)
[[ $version == *-mcpvm ]] || die "unexpected kernel release $version (CONFIG_LOCALVERSION lost?)"
log "building $version with -j$jobs in $src (log: $work/build.log; ~15 min on 2 cores)"
start=$(date +%s)
if ! nice -n 10 make -C "$src" ARCH=x86_64 -j"$jobs" vmlinux >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  die "kernel build failed"
fi
log "built in $(($(date +%s) - start)) s"

tree=$work/tree
mods=$tree/lib/modules/$version
mkdir -p "$mods"
# Symbols and .comment go, as in the bzImage's own payload (arch/x86/boot/compressed); the PVH entry
# note (.note.Xen, XEN_ELFNOTE_PHYS32_ENTRY) stays: QEMU boots that.
objcopy -R .comment -S "$src/vmlinux" "$tree/vmlinux"
readelf -n "$tree/vmlinux" | grep -q '^ *Xen ' || die "vmlinux has no Xen/PVH ELF note: QEMU could not boot it"
echo "$version" >"$tree/version"
cp "$src/.config" "$tree/.config"
: >"$mods/modules.dep"
cp "$src/modules.builtin" "$mods/modules.builtin"
for m in "${builtin_required[@]}"; do
  grep -q "/$m\.ko$" "$mods/modules.builtin" || die "$m is not in modules.builtin: mcpvm would look for it as a module"
done
echo "$key" >"$tree/.complete"

dest=$cache/$version
if [ -e "$dest" ]; then mv "$dest" "$work/old"; fi
mv "$tree" "$dest"
chmod -R a+rX "$dest"
log "installed $dest ($(du -h "$dest/vmlinux" | cut -f1) vmlinux); boot it with MCPVM_KERNEL=$dest/vmlinux"
echo "$dest/vmlinux"
