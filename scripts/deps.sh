#!/usr/bin/env bash
# Installs everything mcpvm's build, tests and demo need, from Debian's packages only.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
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

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# nodejs: the machine's own build bundles npm (Debian's npm package conflicts with it); Debian's nodejs
# brings no npm, so add it only when none is on PATH.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # An image with empty package lists cannot find anything: update first when the lists are absent or stale.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -q
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The guest kernel (Debian's, unpacked into a cache, never into the host's /boot).
bash "$(dirname "$0")/fetch-kernel.sh"
