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
source "$src/bench/lib/summary.sh"
bench_row "image -> rootfs, s (median)" "$(printf %.2f "$m_ours")" "umoci+mksquashfs $(printf %.2f "$m_theirs")" \
  "$(printf %.2f "$(echo "$m_ours / $m_theirs" | bc -l)")" "<= 0.5"
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

# --- compressors in the guest: what a VM actually pays ------------------------------------------------------
# Every VM boots with a cold guest page cache, so each first read of a file decompresses its blocks in the
# guest kernel. Two numbers per compressor: the time from `mcpvm run --foreground` to the node server's
# answer to an MCP initialize (boot + node reading its binary and modules: the cost users see), and the time
# to read every regular file once from inside the guest (guest clock). Runs are interleaved across
# compressors so load changes hit all alike. "none" is built with mksquashfs -noI -noD -noF -noX from
# umoci's unpack (tar2sqfs has no uncompressed mode). Under TCG the guest CPU is emulated, which inflates
# decompression; the ratios between compressors are what carry over to KVM.
guest_runs=${GUEST_RUNS:-3}
for comp in zstd lz4; do
  "$mcpvm" build-rootfs "$tag" --rebuild --compressor $comp >/dev/null 2>&1
  cp "$sqfs" "$work/guest-$comp.sqfs"
done
rm -rf "$work/unpacked"
umoci raw unpack --image "$layout:$tag" "$work/unpacked" >/dev/null 2>&1
mksquashfs "$work/unpacked" "$work/guest-none.sqfs" -noI -noD -noF -noX -noappend -quiet -no-progress >/dev/null
rm -rf "$work/unpacked"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
read_all='read t0 _ </proc/uptime; /bin/busybox find / -xdev -type f -exec /bin/busybox cat {} + >/dev/null
read t1 _ </proc/uptime; echo "$t0 $t1"'
declare -A ready reads
for i in $(seq "$guest_runs"); do
  for comp in zstd lz4 none; do
    cp "$work/guest-$comp.sqfs" "$sqfs"
    # The server answers initialize, then sees EOF on stdin and exits.
    t=$(python3 - "$mcpvm" "$tag" "$init" <<'PY'
import subprocess, sys, time
start = time.monotonic()
p = subprocess.Popen([sys.argv[1], "run", "--foreground", "--memory", "1024", sys.argv[2]], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
p.stdin.write((sys.argv[3] + "\n").encode()); p.stdin.flush()
line = p.stdout.readline()
elapsed = time.monotonic() - start
p.stdin.close(); p.stdout.read(); p.wait(timeout=120)
if b'"result"' not in line: sys.exit("no initialize answer: %r" % line[:200])
print(f"{elapsed:.3f}")
PY
)
    ready[$comp]+="$t "
    out=$(timeout 600 "$mcpvm" run --foreground --memory 1024 --entrypoint /bin/sh "$tag" -- -c "$read_all" \
      </dev/null 2>/dev/null)
    read -r g0 g1 <<<"$out"
    reads[$comp]+="$(echo "$g1 - $g0" | bc -l) "
  done
done
echo "compressor  size_MB  run_to_initialize_s  guest_read_all_s   (median of $guest_runs, accel ${MCPVM_ACCEL:-auto})"
for comp in zstd lz4 none; do
  printf '%-10s %8.1f %20.2f %17.2f    runs: %s| %s\n' "$comp" \
    "$(echo "$(stat -c %s "$work/guest-$comp.sqfs") / 1000000" | bc -l)" \
    "$(tr ' ' '\n' <<<"${ready[$comp]}" | grep . | median)" "$(tr ' ' '\n' <<<"${reads[$comp]}" | grep . | median)" \
    "${ready[$comp]}" "${reads[$comp]}"
done
"$mcpvm" build-rootfs "$tag" --rebuild >/dev/null 2>&1
