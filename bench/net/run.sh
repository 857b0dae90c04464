#!/usr/bin/env bash
# Network benchmark (issue 6): guest->host TCP throughput and connection rate through mcpvm's
# UserNetwork vs QEMU's built-in -netdev user, same guest, same run. Needs root (network namespaces).
#   bench/net/run.sh BUILD_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]
set -euo pipefail
build=${1:?usage: bench/net/run.sh BUILD_DIR [MEGABYTES] [CONNECTIONS] [ROUNDS]}
cmake --build "$build" --target net_bench net_guest_ns >/dev/null
out=$("$build/bin/net_bench" "$(cd "$build/bin" && pwd)" "${2:-256}" "${3:-300}" "${4:-3}")
echo "$out"
echo "$out" | jq -r '"throughput: mcpvm \(.mcpvm.throughput_mbit_s|floor) Mbit/s, qemu user-net \(.qemu.throughput_mbit_s|floor) Mbit/s, ratio \(.ratio_throughput*100|floor/100)",
  "connections: mcpvm \(.mcpvm.connections_per_s|floor)/s, qemu user-net \(.qemu.connections_per_s|floor)/s, ratio \(.ratio_connections*100|floor/100)",
  "target: ratio >= 0.9"'
