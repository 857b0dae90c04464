#!/usr/bin/env bash
# Store -> bootable rootfs for the ~100 MB node MCP image: mcpvm (build-rootfs: layers streamed top-down
# into a squashfs) vs the extract-then-pack path (`umoci raw unpack` + `mksquashfs`, same compressor and
# level, same number of threads), in the same run; median of RUNS (default 5); then the cost of a second
# VM of the same image (cache hit) and a compressor comparison (size, build time, full read time).
#
# usage: bench/rootfs/run.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(realpath "${1:?usage: run.sh BUILD_DIR [RUNS]}")
runs=${2:-5}
src=$(cd "$(dirname "$0")/../.." && pwd)
mcpvm=$build/bin/mcpvm
[ -x "$mcpvm" ] || { echo "no $mcpvm: build it first" >&2; exit 1; }
for tool in umoci mksquashfs unsquashfs sqfs2tar jq; do
  command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
jobs=$(nproc)
work=$(mktemp -d /var/tmp/mcpvm-bench-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MCPVM_HOME=$work/home

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# --- the image -------------------------------------------------------------------------------------------
layout=$work/layout tag=node-mcp:bench
if [ -x "$src/tests/fixtures/make-node-mcp-image.sh" ]; then
  "$src/tests/fixtures/make-node-mcp-image.sh" "$layout" "$tag" >/dev/null
else
  # Stand-in until the fixture exists: busybox, the C/C++ runtime libraries, node (~100 MB) and npm's
  # own package tree as the "app", each its own layer (gzip, like a registry image).
  bb=$work/src/bb libs=$work/src/libs nodel=$work/src/node app=$work/src/app
  bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$bb"
  mkdir -p "$libs/lib/x86_64-linux-gnu" "$libs/lib64" "$nodel/usr/local/bin" "$app/app"
  for l in $(ldd "$(command -v node)" | awk '/=>/ {print $3}'); do cp -L "$l" "$libs/lib/x86_64-linux-gnu/"; done
  cp -L /lib64/ld-linux-x86-64.so.2 "$libs/lib64/"
  cp -L "$(command -v node)" "$nodel/usr/local/bin/node"
  cp -a /usr/lib/node_modules/npm "$app/app/node_modules"
  bash "$src/tests/fixtures/make-oci-image.sh" "$layout" "$tag" --layer "$bb" --layer "$libs" --layer "$nodel" \
    --layer "$app" --entrypoint '["/usr/local/bin/node"]' >/dev/null
fi
"$mcpvm" import "$layout" --tag "$tag" >/dev/null 2>&1 || "$mcpvm" import "$layout" >/dev/null
digest=$("$mcpvm" build-rootfs "$tag" --json | jq -r .digest)
sqfs=$MCPVM_HOME/rootfs/${digest#sha256:}.sqfs
blobs_mb=$(du -cm "$layout"/blobs/sha256/* | tail -1 | cut -f1)
echo "image: $tag, layout blobs ${blobs_mb} MB, rootfs $(( $(stat -c %s "$sqfs") / 1000000 )) MB, $jobs CPUs"

# --- store -> rootfs, both ways --------------------------------------------------------------------------
ours=() theirs=()
for i in $(seq "$runs"); do
  sync; t0=$(now)
  "$mcpvm" build-rootfs "$tag" --rebuild >/dev/null 2>&1
  t1=$(now); ours+=("$(echo "$t1 - $t0" | bc -l)")

  rm -rf "$work/unpacked" "$work/peer.sqfs"; sync; t0=$(now)
  umoci raw unpack --image "$layout:$tag" "$work/unpacked" >/dev/null 2>&1
  mksquashfs "$work/unpacked" "$work/peer.sqfs" -comp zstd -Xcompression-level 3 -noappend -quiet -no-progress \
    -processors "$jobs" >/dev/null
  t1=$(now); theirs+=("$(echo "$t1 - $t0" | bc -l)")
  printf 'run %d: mcpvm %.2fs, umoci raw unpack + mksquashfs %.2fs\n' "$i" "${ours[-1]}" "${theirs[-1]}"
done
m_ours=$(printf '%s\n' "${ours[@]}" | median)
m_theirs=$(printf '%s\n' "${theirs[@]}" | median)
printf 'median of %d: mcpvm %.2fs, umoci+mksquashfs %.2fs, ratio %.2fx (target <= 0.5x)\n' "$runs" "$m_ours" \
  "$m_theirs" "$(echo "$m_ours / $m_theirs" | bc -l)"
printf 'sizes: mcpvm %d bytes, mksquashfs %d bytes\n' "$(stat -c %s "$sqfs")" "$(stat -c %s "$work/peer.sqfs")"

# --- second VM of the same image: the cache answers ------------------------------------------------------
hits=()
for i in $(seq "$runs"); do
  t0=$(now); "$mcpvm" build-rootfs "$tag" >/dev/null 2>&1; t1=$(now)
  hits+=("$(echo "$t1 - $t0" | bc -l)")
done
printf 'second VM (cache hit, whole mcpvm process): median %.3fs\n' "$(printf '%s\n' "${hits[@]}" | median)"

# --- compressors: size, build time, time to read every byte back (host-side proxy for guest reads) ---------
echo "compressor    build_s   size_MB   read_all_s"
for comp in zstd lz4 gzip; do
  "$mcpvm" build-rootfs "$tag" --rebuild --compressor $comp >/dev/null 2>&1   # warm
  b=(); r=()
  for i in 1 2 3; do
    t0=$(now); "$mcpvm" build-rootfs "$tag" --rebuild --compressor $comp >/dev/null 2>&1; t1=$(now)
    b+=("$(echo "$t1 - $t0" | bc -l)")
    t0=$(now); sqfs2tar "$sqfs" >/dev/null; t1=$(now)
    r+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%-12s %8.2f %9.1f %11.2f\n' "$comp$([ $comp = zstd ] && echo '(3)')" "$(printf '%s\n' "${b[@]}" | median)" \
    "$(echo "$(stat -c %s "$sqfs") / 1000000" | bc -l)" "$(printf '%s\n' "${r[@]}" | median)"
done
"$mcpvm" build-rootfs "$tag" --rebuild >/dev/null 2>&1
