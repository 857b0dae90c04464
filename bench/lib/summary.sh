# The one table `make bench` ends with: every benchmark adds its headline rows here as it finishes
# (metric, mcpvm, peer, ratio, target), and bench/run.sh prints them together. Sourced by the benchmarks'
# shell scripts; the Python/Node parts append the same tab-separated line to $MCPVM_BENCH_SUMMARY.
# Outside bench/run.sh (a benchmark run alone) the variable is unset and nothing is recorded.

# bench_row METRIC MCPVM PEER RATIO TARGET   (PEER names the peer and its value, e.g. "skopeo 1.20 s")
bench_row() {
  [ -n "${MCPVM_BENCH_SUMMARY:-}" ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$MCPVM_BENCH_SUMMARY"
}

# bench_print_summary FILE: the rows as an aligned table.
bench_print_summary() {
  [ -s "$1" ] || return 0
  echo "=== summary (ratio = mcpvm / peer unless the metric says otherwise)"
  { printf 'metric\tmcpvm\tpeer\tratio\ttarget\n'; cat "$1"; } | awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
    END { for (r = 1; r <= n; r++) { line = ""; for (i = 1; i <= 5; i++) line = line sprintf("%-" w[i] + 2 "s", cell[r, i]); print line } }'
}
