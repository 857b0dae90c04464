// Helpers shared by the e2e tests: start mcpvm / server-everything processes on loopback, connect SDK
// clients, and make sure every child dies with the test.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const binDir = process.env.MCPVM_BIN_DIR ?? path.resolve(here, "../../build/bin");
export const mcpvm = path.join(binDir, "mcpvm");
export const everything = path.join(here, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
export const demoServer = path.join(binDir, "mcpvm-demo-server");

const children = new Set();
function killAll() {
  for (const c of children) {
    try { process.kill(-c.pid, "SIGKILL"); } catch { try { c.kill("SIGKILL"); } catch {} }
  }
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => { killAll(); process.exit(130); });

// Starts a child in its own process group (killed when the test exits).
export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], detached: true, ...opts });
  children.add(child);
  child.on("exit", () => children.delete(child));
  child.stderrText = "";
  child.stderr.on("data", (d) => { child.stderrText += d; if (process.env.E2E_VERBOSE) process.stderr.write(d); });
  return child;
}

export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    try { process.kill(-child.pid, "SIGTERM"); } catch { child.kill("SIGTERM"); }
    setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch {} }, 3000).unref();
  });
}

// `mcpvm bridge ... -- CMD` prints its URL as the first stdout line.
export function startBridge(args) {
  const child = start(mcpvm, ["bridge", ...args]);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("bridge did not print its URL:\n" + child.stderrText)), 20000);
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        const url = out.slice(0, nl).trim();
        resolve({ child, url, base: url.replace(/\/mcp$/, "") });
      }
    });
    child.on("exit", (code) => reject(new Error(`bridge exited (${code}):\n${child.stderrText}`)));
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

export async function waitForPort(port, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

// server-everything in an HTTP mode ("sse" | "streamableHttp") on a free loopback port.
export async function startEverythingHttp(mode) {
  const port = await freePort();
  const child = start(process.execPath, [everything, mode], { env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" } });
  await waitForPort(port);
  return { child, port, url: `http://127.0.0.1:${port}${mode === "sse" ? "/sse" : "/mcp"}` };
}

// token: a VM endpoint's bearer token (`mcpvm inspect NAME` .endpoint.token), sent on every request.
export async function connect(base, transportKind, capabilities = {}, token = undefined) {
  const client = new Client({ name: `e2e-${transportKind}`, version: "1.0.0" }, { capabilities });
  const opts = token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : undefined;
  const transport = transportKind === "sse"
    ? new SSEClientTransport(new URL(base + "/sse"), opts)
    : new StreamableHTTPClientTransport(new URL(base + "/mcp"), opts);
  await client.connect(transport);
  return client;
}

export function check(cond, message) {
  if (!cond) throw new Error("check failed: " + message);
}

export function textOf(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

// Runs named async steps, printing each; exits non-zero on the first failure.
export async function run(name, steps) {
  const t0 = Date.now();
  try {
    for (const [stepName, fn] of steps) {
      const s = Date.now();
      await fn();
      console.log(`ok   ${name}: ${stepName} (${Date.now() - s} ms)`);
    }
    console.log(`PASS ${name} (${Date.now() - t0} ms)`);
    killAll();
    process.exit(0);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack ?? e}`);
    killAll();
    process.exit(1);
  }
}
