#!/usr/bin/env bash
# Bridge benchmark (host only, no VM): server-everything over stdio, `echo` calls, measured in one run:
#   direct stdio | mcpvm bridge | supergateway (streamable HTTP, stateful) | mcp-proxy (streamable HTTP)
# 1000 sequential calls after a warm-up, then 3000 at concurrency 32 (BENCH_SEQ/BENCH_TOTAL/BENCH_CONC).
# Usage: bench/bridge/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
e2e="$root/tests/e2e"
bash "$root/scripts/test-setup.d/mcp.sh" "$build" >&2
everything=(node "$e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js" stdio)
loadgen=(node "$(dirname "$0")/loadgen.mjs")
bin="$e2e/node_modules/.bin"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
# Starts a server in its own process group, runs the load against URL, stops the group.
measure_http() {
  local name=$1 port=$2; shift 2
  setsid "$@" >"$tmp/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$port"
  "${loadgen[@]}" http "http://127.0.0.1:$port/mcp" >"$tmp/$name.json"
  kill -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "direct stdio..." >&2
"${loadgen[@]}" stdio -- "${everything[@]}" >"$tmp/direct.json"
echo "mcpvm bridge..." >&2
p=$(free_port); measure_http mcpvm "$p" "$build/bin/mcpvm" bridge --port "$p" -- "${everything[@]}"
echo "supergateway..." >&2
p=$(free_port); measure_http supergateway "$p" "$bin/supergateway" --stdio "${everything[*]}" \
  --outputTransport streamableHttp --stateful --port "$p"
echo "mcp-proxy..." >&2
p=$(free_port); measure_http mcp-proxy "$p" "$bin/mcp-proxy" --host 127.0.0.1 --port "$p" --server stream -- "${everything[@]}"

node - "$tmp" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
const r = Object.fromEntries(["direct", "mcpvm", "supergateway", "mcp-proxy"].map((n) => [n, JSON.parse(fs.readFileSync(`${dir}/${n}.json`))]));
const bestPeer = Math.max(r.supergateway.conc.rps, r["mcp-proxy"].conc.rps);
const pad = (s, n) => String(s).padEnd(n);
console.log(`server-everything (stdio), echo; seq ${process.env.BENCH_SEQ ?? 1000} calls, c${process.env.BENCH_CONC ?? 32} ${process.env.BENCH_TOTAL ?? 3000} calls`);
console.log(pad("", 14) + pad("seq p50 ms", 12) + pad("seq p99 ms", 12) + pad("seq req/s", 11) + pad("c32 p50 ms", 12) + pad("c32 p99 ms", 12) + pad("c32 req/s", 11) + "c32 req/s vs best peer");
for (const [n, v] of Object.entries(r)) {
  console.log(pad(n, 14) + pad(v.seq.p50_ms, 12) + pad(v.seq.p99_ms, 12) + pad(v.seq.rps, 11) + pad(v.conc.p50_ms, 12) +
    pad(v.conc.p99_ms, 12) + pad(v.conc.rps, 11) + (v.conc.rps / bestPeer).toFixed(2) + "x");
}
const overhead = r.mcpvm.seq.p50_ms - r.direct.seq.p50_ms;
console.log(`mcpvm p50 overhead over direct stdio: ${overhead.toFixed(3)} ms`);
if (process.env.MCPVM_BENCH_SUMMARY) {  // bench/lib/summary.sh
  const best = r.supergateway.conc.rps >= r["mcp-proxy"].conc.rps ? "supergateway" : "mcp-proxy";
  fs.appendFileSync(process.env.MCPVM_BENCH_SUMMARY,
    `bridge seq p50, ms\t${r.mcpvm.seq.p50_ms}\tdirect stdio ${r.direct.seq.p50_ms}\t+${overhead.toFixed(3)} ms\toverhead <= 1 ms\n` +
    `bridge c32, req/s\t${r.mcpvm.conc.rps}\t${best} ${bestPeer}\t${(r.mcpvm.conc.rps / bestPeer).toFixed(2)}\t>= 1\n` +
    `bridge c32 vs direct stdio, req/s\t${r.mcpvm.conc.rps}\tdirect stdio ${r.direct.conc.rps}\t${(r.mcpvm.conc.rps / r.direct.conc.rps).toFixed(2)}\t>= 0.5\n`);
}
JS
