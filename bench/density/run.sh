#!/usr/bin/env bash
# Density benchmark (issue 5): start N idle VMs of a small image (the static demo MCP server on a busybox
# squashfs), one after another, each `mcpvm run` returning when the server answered MCP initialize; then
# measure host memory per idle VM:
#   overhead = runner RSS + QEMU RSS - guest RAM actually touched
# where "guest RAM touched" is the Rss of QEMU's guest-RAM mapping (the anonymous mapping whose size is
# the VM's --memory) in /proc/PID/smaps. PSS figures are printed too (shared libraries and the page cache
# of the mapped kernel file counted fairly), and the overhead by PSS, the honest figure for N VMs. Under
# TCG, QEMU's translated-code buffer (its anonymous rwx mapping) is shown apart: KVM has none.
# Also: the start rate (sequential runs per minute, and the mean time to ready).
# The peer, measured in the same run: N bare QEMUs booting the same kernel, same accel, memory and code
# cache, with a trivial init (static busybox printing one line, then sleeping), measured the same way
# (no runner, no devices). The ratio mcpvm/bare says what mcpvm adds over QEMU itself.
#
# usage: bench/density/run.sh BUILD_DIR      env: N (default 4), MEMORY_MIB (default 256), IDLE_S (10),
#        MCPVM_TCG_TB_MIB (cap on TCG's code cache, as mcpvm reads it)
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-4}
memory=${MEMORY_MIB:-256}
idle=${IDLE_S:-10}
mcpvm=$build/bin/mcpvm
export MCPVM_BIN_DIR=$build/bin
work=$(mktemp -d /tmp/mcpvm-density-XXXXXX)
export MCPVM_HOME=$work/home
bare_pids=()
cleanup() {
  for d in "$MCPVM_HOME"/vms/*/; do [ -d "$d" ] && "$mcpvm" rm -f "$(basename "$d")" >/dev/null 2>&1; done
  for p in "${bare_pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/rootfs
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$rootfs" >/dev/null
install -D -m 0755 "$build/bin/mcpvm-demo-server" "$rootfs/usr/local/bin/mcpvm-demo-server"
mksquashfs "$rootfs" "$work/demo.sqfs" -quiet -noappend -all-root >/dev/null
echo '{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "User": "app"}' > "$work/demo.json"

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"; }
# Rss (KiB) of the guest RAM mapping: the mapping exactly --memory MiB large.
guest_touched() {
  awk -v size="$((memory * 1024))" '
    /^[0-9a-f]+-[0-9a-f]+ / { in_ram = 0 }
    /^Size:/ { in_ram = ($2 == size) }
    /^Rss:/ && in_ram { s += $2 }
    END { print s + 0 }' "/proc/$1/smaps"
}

echo "density: $n VMs, --memory $memory MiB, /dev/kvm $([ -e /dev/kvm ] && echo present || echo absent: TCG)," \
  "TCG code cache ${MCPVM_TCG_TB_MIB:+capped at $MCPVM_TCG_TB_MIB MiB}${MCPVM_TCG_TB_MIB:-QEMU default}, no huge pages"
t_start=$(date +%s.%N)
for i in $(seq 1 "$n"); do
  t0=$(date +%s.%N)
  "$mcpvm" run --name "d$i" --memory "$memory" --rootfs "$work/demo.sqfs" --image-config "$work/demo.json" demo >/dev/null
  t1=$(date +%s.%N)
  printf '  d%-3s ready in %.2f s\n' "$i" "$(echo "$t1 - $t0" | bc -l)"
done
t_end=$(date +%s.%N)
total=$(echo "$t_end - $t_start" | bc -l)
printf 'start: %d VMs in %.1f s = %.1f VMs/min, mean %.2f s to ready\n' "$n" "$total" \
  "$(echo "$n * 60 / $total" | bc -l)" "$(echo "$total / $n" | bc -l)"

# The peer: bare QEMUs, started one after another, each "ready" when its init printed.
source "$src/bench/lib/bare_qemu.sh"
bare_qemu_setup
bare_initrd "$work/bare.cpio" $'/bin/busybox echo bare-ready\nexec /bin/busybox sleep 1000000'
bare_qemu_argv "$memory" "$work/bare.cpio"
t_start=$(date +%s.%N)
for i in $(seq 1 "$n"); do
  "${bare_qemu[@]}" -chardev "file,id=con,path=$work/bare$i.log" -serial chardev:con </dev/null >/dev/null 2>&1 &
  bare_pids+=($!)
  for _ in $(seq 1 600); do grep -q bare-ready "$work/bare$i.log" 2>/dev/null && break; sleep 0.1; done
  grep -q bare-ready "$work/bare$i.log" || { echo "bare QEMU $i did not boot" >&2; exit 1; }
done
t_end=$(date +%s.%N)
bare_total=$(echo "$t_end - $t_start" | bc -l)
printf 'peer start: %d bare QEMUs in %.1f s = %.1f VMs/min, mean %.2f s to ready\n' "$n" "$bare_total" \
  "$(echo "$n * 60 / $bare_total" | bc -l)" "$(echo "$bare_total / $n" | bc -l)"

sleep "$idle"
# Rss (KiB) of TCG's translated-code buffer: the anonymous rwx mapping.
tcg_code() { awk '/^[0-9a-f]+-[0-9a-f]+ / { code = ($2 == "rwxp" && NF == 5) } /^Rss:/ && code { s += $2 } END { print s + 0 }' "/proc/$1/smaps"; }
printf '%-5s %10s %10s %12s %12s %10s %10s %12s %10s\n' VM runner_rss qemu_rss guest_touched overhead_rss runner_pss \
  qemu_pss overhead_pss tcg_code
sum=0 sum_pss=0 sum_code=0
for i in $(seq 1 "$n"); do
  st=$MCPVM_HOME/vms/d$i/state.json
  rp=$(jq -r .runner.pid "$st")
  qp=$(jq -r .qemu.pid "$st")
  r_rss=$(kib "$rp" VmRSS); q_rss=$(kib "$qp" VmRSS); touched=$(guest_touched "$qp")
  over=$((r_rss + q_rss - touched))
  r_pss=$(pss "$rp"); q_pss=$(pss "$qp"); code=$(tcg_code "$qp")
  over_pss=$((r_pss + q_pss - touched))
  sum=$((sum + over)) sum_pss=$((sum_pss + over_pss)) sum_code=$((sum_code + code))
  printf '%-5s %7d KiB %7d KiB %9d KiB %9d KiB %7d KiB %7d KiB %9d KiB %7d KiB\n' "d$i" "$r_rss" "$q_rss" \
    "$touched" "$over" "$r_pss" "$q_pss" "$over_pss" "$code"
done
mib() { echo "$1 / $n / 1024" | bc -l; }
printf 'mean overhead per idle VM: %.1f MiB by RSS, %.1f MiB by PSS, of which TCG code buffer %.1f MiB; by PSS without it %.1f MiB (target <= 40 MiB)\n' \
  "$(mib $sum)" "$(mib $sum_pss)" "$(mib $sum_code)" "$(mib $((sum_pss - sum_code)))"

# The same figures for the bare peer (no runner).
b_sum=0 b_sum_pss=0 b_sum_code=0
for i in $(seq 1 "$n"); do
  qp=${bare_pids[$((i - 1))]}
  q_rss=$(kib "$qp" VmRSS); touched=$(guest_touched "$qp"); q_pss=$(pss "$qp"); code=$(tcg_code "$qp")
  b_sum=$((b_sum + q_rss - touched)) b_sum_pss=$((b_sum_pss + q_pss - touched)) b_sum_code=$((b_sum_code + code))
done
printf 'peer, bare QEMU (same kernel, trivial init, no devices): %.1f MiB by RSS, %.1f MiB by PSS, of which TCG code buffer %.1f MiB; by PSS without it %.1f MiB\n' \
  "$(mib $b_sum)" "$(mib $b_sum_pss)" "$(mib $b_sum_code)" "$(mib $((b_sum_pss - b_sum_code)))"
source "$src/bench/lib/summary.sh"
bench_row "host overhead per idle VM, MiB PSS" "$(printf %.1f "$(mib $sum_pss)")" "bare qemu $(printf %.1f "$(mib $b_sum_pss)")" \
  "$(printf %.2f "$(echo "$sum_pss / $b_sum_pss" | bc -l)")" "<= 40 MiB"
printf 'ratio mcpvm/bare: %.2f by PSS (%+.1f MiB per VM); without the code buffers %.2f (%+.1f MiB)\n' \
  "$(echo "$sum_pss / $b_sum_pss" | bc -l)" "$(mib $((sum_pss - b_sum_pss)))" \
  "$(echo "($sum_pss - $sum_code) / ($b_sum_pss - $b_sum_code)" | bc -l)" \
  "$(mib $((sum_pss - sum_code - b_sum_pss + b_sum_code)))"
