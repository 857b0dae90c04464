#!/usr/bin/env bash
# bench/volume's QEMU (MCPVM_QEMU): with MCPVM_BENCH_VIRTIOFS_DIR set, it serves that directory with Debian's
# C virtiofsd and adds a vhost-user-fs device (tag "vfs") and the shared guest RAM virtiofs needs (a memfd
# backend, share=on); the guest mounts it itself. Without it, QEMU runs unchanged. mcpvm has no virtiofs
# support: this exists only to measure the alternative (docs/volumes.md).
set -euo pipefail
qemu=qemu-system-x86_64
dir=${MCPVM_BENCH_VIRTIOFS_DIR:-}
[ -n "$dir" ] || exec "$qemu" "$@"
mem=512 prev=
for a in "$@"; do [ "$prev" = -m ] && mem=$a; prev=$a; done
sock=$(mktemp -u /tmp/mcpvm-bench-vfs-XXXXXX.sock)
# virtiofsd must not hold QEMU's inherited sockets (the runner's EOF detection depends on them).
(for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
 exec /usr/lib/qemu/virtiofsd --socket-path="$sock" -o source="$dir" -o cache=auto </dev/null >/dev/null 2>&1) &
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
exec "$qemu" "$@" -chardev "socket,id=vfs,path=$sock" -device vhost-user-fs-device,chardev=vfs,tag=vfs \
  -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -machine memory-backend=mem \
  -global virtio-mmio.force-legacy=false
