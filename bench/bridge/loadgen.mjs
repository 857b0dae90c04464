// Lean MCP load generator: `echo` tool calls, sequential and at a given concurrency.
//   node loadgen.mjs stdio -- CMD ARGS...     (newline-delimited JSON-RPC on the child's stdio)
//   node loadgen.mjs http URL                  (streamable HTTP, plain keep-alive http.Agent)
// Prints one JSON line: {"seq":{"p50_ms","p99_ms","rps"},"conc":{...}}.
import { spawn } from "node:child_process";
import http from "node:http";
import readline from "node:readline";

const SEQ = Number(process.env.BENCH_SEQ ?? 1000);
const TOTAL = Number(process.env.BENCH_TOTAL ?? 3000);
const CONC = Number(process.env.BENCH_CONC ?? 32);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const init = {
  jsonrpc: "2.0", method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "loadgen", version: "1" } },
};
let nextId = 1;
const echo = () => ({ jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name: "echo", arguments: { message: "bench" } } });

function stdioClient(argv) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map();
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    let m;
    try { m = JSON.parse(line); } catch { return; }
    const w = waiting.get(m.id);
    if (w) { waiting.delete(m.id); w(m); }
  });
  const send = (msg) => new Promise((resolve) => {
    if (msg.id !== undefined) waiting.set(msg.id, resolve);
    child.stdin.write(JSON.stringify(msg) + "\n");
    if (msg.id === undefined) resolve();
  });
  return {
    async start() {
      await send({ ...init, id: nextId++ });
      await send({ jsonrpc: "2.0", method: "notifications/initialized" });
    },
    call: () => send(echo()),
    stop: () => child.kill("SIGKILL"),
  };
}

function httpClient(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONC * 2 });
  const u = new URL(url);
  const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  const post = (msg) => new Promise((resolve, reject) => {
    const body = JSON.stringify(msg);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent,
      headers: { ...headers, "Content-Length": Buffer.byteLength(body) } }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { data += d; });
      res.on("end", () => {
        const sid = res.headers["mcp-session-id"];
        if (sid) headers["Mcp-Session-Id"] = sid;
        if (res.statusCode === 202) return resolve(null);
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${data}`));
        // JSON body, or SSE: the last data line that parses is the response.
        if (!res.headers["content-type"].startsWith("text/event-stream")) return resolve(JSON.parse(data));
        const msgs = data.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).filter(Boolean);
        resolve(JSON.parse(msgs[msgs.length - 1]));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
  return {
    async start() {
      await post({ ...init, id: nextId++ });
      headers["MCP-Protocol-Version"] = "2025-06-18";
      await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    },
    call: () => post(echo()),
    stop: () => agent.destroy(),
  };
}

function pct(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]; }
function summary(lat, wallMs) {
  lat.sort((a, b) => a - b);
  return { p50_ms: +pct(lat, 50).toFixed(3), p99_ms: +pct(lat, 99).toFixed(3), rps: Math.round((lat.length / wallMs) * 1000) };
}

async function timedCall(client, lat) {
  const t = process.hrtime.bigint();
  const r = await client.call();
  if (!r?.result?.content?.[0]?.text?.includes("bench")) throw new Error("bad echo answer: " + JSON.stringify(r));
  lat.push(Number(process.hrtime.bigint() - t) / 1e6);
}

const [kind, ...rest] = process.argv.slice(2);
const client = kind === "stdio" ? stdioClient(rest[0] === "--" ? rest.slice(1) : rest) : httpClient(rest[0]);
await client.start();
for (let i = 0; i < WARMUP; i++) await client.call();
const seqLat = [];
let t0 = Date.now();
for (let i = 0; i < SEQ; i++) await timedCall(client, seqLat);
const seq = summary(seqLat, Date.now() - t0);
const concLat = [];
let issued = 0;
t0 = Date.now();
await Promise.all(Array.from({ length: CONC }, async () => {
  while (issued < TOTAL) { issued++; await timedCall(client, concLat); }
}));
const conc = summary(concLat, Date.now() - t0);
console.log(JSON.stringify({ seq, conc }));
client.stop();
process.exit(0);
