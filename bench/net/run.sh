#!/usr/bin/env bash
# Network benchmark (issue 6): guest->host TCP throughput and connection rate through mcpvm's
# UserNetwork vs QEMU's built-in -netdev user, same guest, same run, two setups:
#   1. namespace guest (no CPU emulation: the network paths alone), QEMU user-net via `qemu -M none` + hub;
#   2. TCG microVM with the same busybox image, QEMU user-net via bench/net/qemu-user-net.sh.
# Needs root (namespaces) and the guest kernel (scripts/fetch-kernel.sh) for part 2.
#   bench/net/run.sh BUILD_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS] [VM_MEGABYTES] [VM_CONNECTIONS] [VM_ROUNDS]
set -euo pipefail
build=${1:?usage: bench/net/run.sh BUILD_DIR [MB] [CONNECTIONS] [ROUNDS] [VM_MB] [VM_CONNECTIONS] [VM_ROUNDS]}
src=$(cd "$(dirname "$0")/../.." && pwd)
cmake --build "$build" --target net_bench net_guest_ns mcpvm-init >/dev/null
bin=$(cd "$build/bin" && pwd)
summary() {
  jq -r --arg what "$1" '"\($what) throughput: mcpvm \(.mcpvm.throughput_mbit_s|floor) Mbit/s, qemu user-net \(.qemu.throughput_mbit_s|floor) Mbit/s, ratio \(.ratio_throughput*100|floor/100)",
    "\($what) connections: mcpvm \(.mcpvm.connections_per_s|floor)/s, qemu user-net \(.qemu.connections_per_s|floor)/s, ratio \(.ratio_connections*100|floor/100)"'
}
ns=$("$bin/net_bench" "$bin" "${2:-256}" "${3:-300}" "${4:-3}")
echo "$ns"
vm=$(MCPVM_ACCEL=${MCPVM_ACCEL:-tcg} MCPVM_BIN_DIR=$bin "$bin/net_bench" vm "$src" "${5:-32}" "${6:-50}" "${7:-3}")
echo "$vm"
echo "$ns" | summary namespace
echo "$vm" | summary "TCG VM"
echo "target: ratio >= 0.9"
source "$src/bench/lib/summary.sh"
for pair in "namespace:$ns" "TCG VM:$vm"; do
  what=${pair%%:*} json=${pair#*:}
  bench_row "net throughput ($what), Mbit/s" "$(jq -r '.mcpvm.throughput_mbit_s|floor' <<<"$json")" \
    "qemu user-net $(jq -r '.qemu.throughput_mbit_s|floor' <<<"$json")" "$(jq -r '.ratio_throughput*100|floor/100' <<<"$json")" ">= 0.9"
  bench_row "net connections ($what), /s" "$(jq -r '.mcpvm.connections_per_s|floor' <<<"$json")" \
    "qemu user-net $(jq -r '.qemu.connections_per_s|floor' <<<"$json")" "$(jq -r '.ratio_connections*100|floor/100' <<<"$json")" ">= 0.9"
done
