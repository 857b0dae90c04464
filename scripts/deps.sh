#!/usr/bin/env bash
# Installs everything mcpvm's build, tests and demo need, from Debian's packages only.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
#
# QEMU: on Debian 12 (bookworm) it comes from bookworm-backports (10.0), because bookworm's 7.2 cannot
# restore a microvm snapshot (warm start, docs/warm-start.md). Only the QEMU packages (and the seabios they
# require) are pinned to backports; everything else stays on bookworm. MCPVM_QEMU_BACKPORTS=0 keeps
# bookworm's QEMU (the cold boot path works on both).
set -euo pipefail

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config clang clang-format
  # libraries
  libcurl4-openssl-dev libarchive-dev libsquashfs-dev libslirp-dev libsodium-dev libkeyutils-dev libpsl-dev libglib2.0-dev nlohmann-json3-dev
  libtomlplusplus-dev libyaml-cpp-dev libcli11-dev libfmt-dev libssl-dev libboost-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the VM: QEMU, the guest kernel's tooling, initramfs/module helpers
  qemu-system-x86 kmod xz-utils cpio
  # tests: a real registry, image tools, squashfs oracle, a busybox rootfs, node for MCP servers/clients
  docker-registry skopeo umoci squashfs-tools squashfs-tools-ng busybox-static apache2-utils
  nodejs iproute2 procps curl jq bc python3
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: run as root (it installs Debian packages with apt-get)" >&2
  exit 1
fi

BACKPORTS_SOURCES=/etc/apt/sources.list.d/mcpvm-bookworm-backports.sources
QEMU_PIN=/etc/apt/preferences.d/mcpvm-qemu-backports
# What backports must provide: qemu-system-x86 10 requires seabios >> 1.16.3 (bookworm has 1.16.2).
QEMU_BACKPORTS_PKGS="qemu-system-x86 qemu-system-common qemu-system-data qemu-system-gui qemu-utils qemu-block-extra seabios"

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
want_backports=0
if [ "$codename" = bookworm ] && [ "${MCPVM_QEMU_BACKPORTS:-1}" != 0 ]; then
  want_backports=1
fi

# Writes $2 to $1 unless it already holds exactly that (so a rerun changes nothing); 0644, atomic.
write_if_changed() {
  if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then
    return 1
  fi
  printf '%s\n' "$2" >"$1.tmp.$$"
  chmod 0644 "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

need_update=0
if [ $want_backports = 1 ]; then
  # A machine that already lists bookworm-backports (any file) keeps its own entry.
  if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    write_if_changed "$BACKPORTS_SOURCES" "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" && need_update=1
  fi
  # Backports are NotAutomatic (priority 100): nothing comes from there unless pinned. 600 > 500 makes
  # these packages follow backports, < 1000 never downgrades.
  write_if_changed "$QEMU_PIN" "# mcpvm (scripts/deps.sh): QEMU 10 for microvm snapshot restore; nothing else from backports.
Package: $QEMU_BACKPORTS_PKGS
Pin: release n=bookworm-backports
Pin-Priority: 600" || true
  if ! ls /var/lib/apt/lists/*bookworm-backports*Packages >/dev/null 2>&1; then
    need_update=1
  fi
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# nodejs: the machine's own build bundles npm (Debian's npm package conflicts with it); Debian's nodejs
# brings no npm, so add it only when none is on PATH.
command -v npm >/dev/null 2>&1 || missing+=(npm)

# An installed bookworm QEMU (7.2) is upgraded to the pinned backports one: QEMU's packages go together.
if [ $want_backports = 1 ]; then
  qemu_version=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
  if [ -n "$qemu_version" ] && dpkg --compare-versions "$qemu_version" lt 1:10; then
    missing+=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # An image with empty package lists cannot find anything: update first when the lists are absent or stale.
  if [ $need_update = 1 ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -q
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The guest kernel (Debian's, unpacked into a cache, never into the host's /boot).
bash "$(dirname "$0")/fetch-kernel.sh"
