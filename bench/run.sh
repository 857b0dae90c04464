#!/usr/bin/env bash
# `make bench`: every benchmark in sequence, each against its named peer in the same run, on a quiet host.
# They take ~20-30 min together under TCG; run one alone with bench/<name>/run.sh BUILD_DIR (see its header).
#
# usage: bench/run.sh BUILD_DIR [NAME...]      (names: pull rootfs boot bridge net density exec vm-http volume warm)
set -uo pipefail
build=$(cd "${1:?usage: bench/run.sh BUILD_DIR [NAME...]}" && pwd)
shift
src=$(cd "$(dirname "$0")/.." && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(pull rootfs boot bridge net density exec vm-http volume warm)
source "$src/bench/lib/summary.sh"
MCPVM_BENCH_SUMMARY=$(mktemp /tmp/mcpvm-bench-summary.XXXXXX)
export MCPVM_BENCH_SUMMARY
trap 'rm -f "$MCPVM_BENCH_SUMMARY"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: $(nproc) CPUs, load average $load (numbers are only comparable on a quiet host)"
failed=()
for name in "${names[@]}"; do
  echo "=== $name ($(date -u +%H:%M:%S))"
  case $name in
    vm-http) bash "$src/scripts/test-setup.d/oci.sh" "$build" && node "$src/bench/vm-http/run.mjs" "$build" ;;
    pull | rootfs | boot | bridge | net | density | exec | volume | warm) bash "$src/bench/$name/run.sh" "$build" ;;
    *) echo "unknown benchmark '$name' (pull rootfs boot bridge net density exec vm-http volume warm)" >&2; false ;;
  esac || failed+=("$name")
done
bench_print_summary "$MCPVM_BENCH_SUMMARY"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
