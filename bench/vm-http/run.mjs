// What our front costs for an HTTP MCP server in a VM: server-everything (streamableHttp) in a TCG
// microVM, `echo` calls over plain keep-alive HTTP (no SDK: it costs ~3 ms CPU per call itself), through
// OUR endpoint (mcpvm run --transport streamable-http) vs straight to the server through a raw slirp
// port forward of the same VM (-p 127.0.0.1:Q:8080: the peer), alternating rounds, same run.
//
// usage: node bench/vm-http/run.mjs BUILD_DIR [SEQUENTIAL=300] [CONCURRENT=600] [CONCURRENCY=8] [ROUNDS=2]
// (needs BUILD_DIR/fixtures/node-mcp-layout: scripts/test-setup.d/oci.sh BUILD_DIR)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import http from "node:http";

const build = path.resolve(process.argv[2] ?? "build");
const [seq, conc, concurrency, rounds] = [3, 4, 5, 6].map((i, k) => Number(process.argv[i] ?? [300, 600, 8, 2][k]));
const mcpvm = path.join(build, "bin/mcpvm");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mcpvm-bvh-"));
const env = { ...process.env, MCPVM_HOME: home, MCPVM_ACCEL: process.env.MCPVM_ACCEL ?? "tcg" };
const sh = (args) => execFileSync(mcpvm, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => {
  try { execFileSync(mcpvm, ["rm", "-f", "bench-vh"], { env, stdio: "ignore" }); } catch {}
  fs.rmSync(home, { recursive: true, force: true });
});

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

sh(["import", "--tag", "everything:bench", path.join(build, "fixtures/node-mcp-layout")]);
const direct = await freePort();
const out = sh(["run", "--name", "bench-vh", "--transport", "streamable-http", "-p", `127.0.0.1:${direct}:8080`,
  "--ready-timeout", "180s", "everything:bench", "--", "streamableHttp"]);
const ours = out.trim().split(/\s+/)[1];
const targets = { "mcpvm endpoint": ours, "raw port forward (peer)": `http://127.0.0.1:${direct}/mcp` };

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url, session, body) {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18" };
  if (session) headers["mcp-session-id"] = session;
  const data = JSON.stringify(body);
  headers["content-length"] = Buffer.byteLength(data);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => res.statusCode >= 300
        ? reject(new Error(`${url}: HTTP ${res.statusCode} ${text.slice(0, 200)}`))
        : resolve({ session: res.headers["mcp-session-id"], text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}
async function open(url) {
  const init = await post(url, null, { jsonrpc: "2.0", id: 0, method: "initialize", params: {
    protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } });
  await post(url, init.session, { jsonrpc: "2.0", method: "notifications/initialized" });
  return init.session;
}
let id = 1;
async function call(url, session) {
  const t = process.hrtime.bigint();
  const r = await post(url, session, { jsonrpc: "2.0", id: id++, method: "tools/call",
    params: { name: "echo", arguments: { message: "x" } } });
  if (!r.text.includes('"result"')) throw new Error(r.text.slice(0, 200));
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const pct = (a, p) => a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];

const results = {};
for (let round = 0; round < rounds; round++) {
  const order = round % 2 ? Object.keys(targets).reverse() : Object.keys(targets);
  for (const name of order) {
    const url = targets[name];
    const session = await open(url);
    for (let i = 0; i < 30; i++) await call(url, session);  // warm-up
    const s = [];
    let t0 = Date.now();
    for (let i = 0; i < seq; i++) s.push(await call(url, session));
    const seqRate = seq / ((Date.now() - t0) / 1000);
    const c = [];
    let next = 0;
    t0 = Date.now();
    await Promise.all([...Array(concurrency)].map(async () => { while (next++ < conc) c.push(await call(url, session)); }));
    const cRate = conc / ((Date.now() - t0) / 1000);
    (results[name] ??= []).push({ p50: pct(s, 0.5), p99: pct(s, 0.99), seqRate, cp50: pct(c, 0.5), cRate });
  }
}
const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`| path | seq p50 ms | seq p99 ms | seq req/s | c${concurrency} p50 ms | c${concurrency} req/s |`);
console.log("|---|---|---|---|---|---|");
for (const [name, rs] of Object.entries(results)) {
  const m = (k) => med(rs.map((r) => r[k]));
  console.log(`| ${name} | ${m("p50").toFixed(2)} | ${m("p99").toFixed(2)} | ${m("seqRate").toFixed(0)} | ${m("cp50").toFixed(2)} | ${m("cRate").toFixed(0)} |`);
}
if (process.env.MCPVM_BENCH_SUMMARY) {  // bench/lib/summary.sh
  const m = (name, k) => med(results[name].map((r) => r[k]));
  const [ours, peer] = ["mcpvm endpoint", "raw port forward (peer)"];
  fs.appendFileSync(process.env.MCPVM_BENCH_SUMMARY,
    `VM HTTP server c${concurrency}, req/s\t${m(ours, "cRate").toFixed(0)}\traw port forward ${m(peer, "cRate").toFixed(0)}\t` +
    `${(m(ours, "cRate") / m(peer, "cRate")).toFixed(2)}\t-\n`);
}
console.log(`(${rounds} rounds alternating, medians; ${seq} sequential, ${conc} at concurrency ${concurrency}; load ${os.loadavg()[0].toFixed(1)})`);
process.exit(0);
