#!/usr/bin/env bash
# Warm-start benchmark (issue 17, docs/warm-start.md): `mcpvm run` of the static demo MCP server (busybox
# squashfs) to its ready MCP endpoint (run returns once the server answered initialize), cold boot vs
# MCPVM_WARM=1 (restore from a template), interleaved so load changes hit both alike; then K idle VMs of
# each kind side by side and their host memory (QEMU + runner, RSS and PSS: a restored VM's guest RAM is a
# private mapping of the template's RAM file, shared through the page cache until written).
#
# usage: bench/warm/run.sh BUILD_DIR     env: ROUNDS (default 5), K (idle VMs per kind, default 3),
#        MEMORY_MIB (default 256), IDLE_S (default 5)
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-5}
k=${K:-3}
memory=${MEMORY_MIB:-256}
idle=${IDLE_S:-5}
mcpvm=$build/bin/mcpvm
export MCPVM_BIN_DIR=$build/bin
work=$(mktemp -d /tmp/mcpvm-warm-bench-XXXXXX)
export MCPVM_HOME=$work/home
cleanup() {
  for d in "$MCPVM_HOME"/vms/*/; do [ -d "$d" ] && "$mcpvm" rm -f "$(basename "$d")" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/rootfs
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$rootfs" >/dev/null
install -D -m 0755 "$build/bin/mcpvm-demo-server" "$rootfs/usr/local/bin/mcpvm-demo-server"
mksquashfs "$rootfs" "$work/demo.sqfs" -quiet -noappend -all-root >/dev/null
echo '{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "User": "app"}' >"$work/demo.json"

run_vm() {  # run_vm NAME WARM(0|1): seconds from `run` to ready
  local t0 t1
  t0=$(date +%s.%N)
  MCPVM_WARM=$2 "$mcpvm" run --name "$1" --memory "$memory" --rootfs "$work/demo.sqfs" \
    --image-config "$work/demo.json" demo >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

echo "warm: $("$(command -v qemu-system-x86_64)" --version | head -1), --memory $memory MiB," \
  "/dev/kvm $([ -e /dev/kvm ] && echo present || echo absent: TCG)"
t=$(run_vm template 1)
printf 'first warm run (builds the template, then restores): %.2f s\n' "$t"
"$mcpvm" rm -f template >/dev/null
cold=() warm=()
for i in $(seq 1 "$rounds"); do
  c=$(run_vm "c$i" 0)
  "$mcpvm" rm -f "c$i" >/dev/null
  w=$(run_vm "w$i" 1)
  "$mcpvm" rm -f "w$i" >/dev/null
  printf '  round %d: cold %.2f s, warm %.2f s\n' "$i" "$c" "$w"
  cold+=("$c") warm+=("$w")
done
python3 - "${cold[*]}" "${warm[*]}" <<'PY'
import statistics, sys
cold = [float(x) for x in sys.argv[1].split()]
warm = [float(x) for x in sys.argv[2].split()]
mc, mw = statistics.median(cold), statistics.median(warm)
print(f"run -> MCP ready: cold median {mc:.2f} s (min {min(cold):.2f}), warm median {mw:.2f} s (min {min(warm):.2f});"
      f" warm/cold {mw / mc:.2f} by median, {min(warm) / min(cold):.2f} by min (target <= 0.3)")
import os
if os.environ.get("MCPVM_BENCH_SUMMARY"):  # bench/lib/summary.sh; the peer is the cold boot
    with open(os.environ["MCPVM_BENCH_SUMMARY"], "a") as f:
        f.write(f"run -> MCP ready, demo server, warm, s (median)\t{mw:.2f}\tcold boot {mc:.2f}\t{mw / mc:.2f}\t<= 0.3\n")
PY

# Memory of K idle VMs of each kind, side by side.
for i in $(seq 1 "$k"); do
  run_vm "ic$i" 0 >/dev/null
  run_vm "iw$i" 1 >/dev/null
done
sleep "$idle"
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"; }
for kind in c w; do
  rss=0 p=0
  for i in $(seq 1 "$k"); do
    st=$MCPVM_HOME/vms/i$kind$i/state.json
    rp=$(jq -r .runner.pid "$st")
    qp=$(jq -r .qemu.pid "$st")
    rss=$((rss + $(kib "$rp" VmRSS) + $(kib "$qp" VmRSS)))
    p=$((p + $(pss "$rp") + $(pss "$qp")))
  done
  printf '%s: per idle VM (runner + QEMU, incl. guest RAM touched) %.1f MiB RSS, %.1f MiB PSS\n' \
    "$([ $kind = c ] && echo cold || echo warm)" "$(echo "$rss / $k / 1024" | bc -l)" "$(echo "$p / $k / 1024" | bc -l)"
  eval "pss_$kind=$p"
done
printf 'PSS warm/cold: %.2f (target <= 0.6)\n' "$(echo "$pss_w / $pss_c" | bc -l)"
source "$src/bench/lib/summary.sh"
bench_row "PSS per idle VM, warm, MiB" "$(printf %.1f "$(echo "$pss_w / $k / 1024" | bc -l)")" \
  "cold boot $(printf %.1f "$(echo "$pss_c / $k / 1024" | bc -l)")" "$(printf %.2f "$(echo "$pss_w / $pss_c" | bc -l)")" "<= 0.6"
