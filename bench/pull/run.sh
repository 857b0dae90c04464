#!/usr/bin/env bash
# Benchmark: pull the ~100 MB node MCP image (tests/fixtures/make-node-mcp-image.sh) from a local
# docker-registry on 127.0.0.1 — `mcpvm pull` into an empty store vs `skopeo copy docker://… oci:…` into an
# empty layout, alternating, same run. Prints each median of N runs (default 7, min 5) and the ratio.
# Target: mcpvm ≤ 0.8× skopeo.  usage: bench/pull/run.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-7}
[ "$runs" -ge 5 ] || runs=5
src=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcpvm-bench-pull.XXXXXX")
source "$src/tests/integration/registry/harness.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT

bash "$src/tests/fixtures/make-node-mcp-image.sh" "$WORK/layout" mcp >/dev/null
start_registry bench open
ref=$REG_bench/bench/node-mcp:1
push "$WORK/layout:mcp" "$ref"
size=$(du -sb "$WORK/layout/blobs" | cut -f1)

now() { date +%s.%N; }
declare -a t_mcpvm t_skopeo
for i in $(seq 1 "$runs"); do
  rm -rf "$WORK/home" "$WORK/oci"
  s=$(now); MCPVM_HOME=$WORK/home "$build/bin/mcpvm" pull -q --tls-verify=false "$ref" >/dev/null; e=$(now)
  t_mcpvm+=("$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.3f", b - a}')")
  s=$(now); skopeo copy --quiet --insecure-policy --src-tls-verify=false "docker://$ref" "oci:$WORK/oci:1" >/dev/null; e=$(now)
  t_skopeo+=("$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.3f", b - a}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m=$(median "${t_mcpvm[@]}"); k=$(median "${t_skopeo[@]}")
echo "pull of the node MCP image ($((size / 1000000)) MB compressed) from docker-registry on 127.0.0.1, $runs runs each:"
echo "  mcpvm pull:  median ${m}s   (runs: ${t_mcpvm[*]})"
echo "  skopeo copy: median ${k}s   (runs: ${t_skopeo[*]})"
ratio=$(awk -v a="$m" -v b="$k" 'BEGIN {printf "%.2f", a / b}')
echo "  ratio mcpvm/skopeo: $ratio  (target <= 0.8)"
source "$src/bench/lib/summary.sh"
bench_row "pull node MCP image, s (median)" "$m" "skopeo copy $k" "$ratio" "<= 0.8"
