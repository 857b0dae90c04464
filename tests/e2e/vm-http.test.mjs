// MCP servers that speak HTTP inside the VM (issue 7, and the port part of issue 6): server-everything
// in the node test image runs in a TCG microVM in streamableHttp and in sse mode; `mcpvm run --transport`
// forwards a loopback port to its port in the guest and serves our usual front (/mcp and /sse). The
// official SDK client talks to OUR endpoint over both transports, `mcpvm proxy stdio NAME` works, the
// injected MCP_* env is what the server sees (the user's -e wins), --proxy-port fixes the port and a
// taken one fails clearly, --network none is refused, and `rm -f` leaves no process or directory.
//
// Needs the guest kernel (scripts/fetch-kernel.sh) and the node image (scripts/test-setup.d/oci.sh
// builds BUILD/fixtures/node-mcp-layout; built here too when missing).
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { check, connect, freePort, here, mcpvm, run, textOf } from "./lib.mjs";

const exec = promisify(execFile);
const buildDir = path.resolve(process.env.MCPVM_BIN_DIR ?? path.join(here, "../../build/bin"), "..");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mcpvm-vh-"));  // short: control.sock paths < 108 bytes
const env = { ...process.env, MCPVM_HOME: home, MCPVM_ACCEL: process.env.MCPVM_ACCEL ?? "tcg" };
const image = "everything:test";
const names = ["vh-stream", "vh-sse", "vh-taken", "vh-none"];

async function mcpvmRun(args, { allowFail = false } = {}) {
  try {
    const { stdout, stderr } = await exec(mcpvm, args, { env, timeout: 200_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (!allowFail) throw new Error(`mcpvm ${args.join(" ")} failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

// Processes whose command line mentions the VM's directory (its runner and QEMU).
function processesOf(name) {
  const dir = path.join(home, "vms", name);
  const found = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").some((a) => a === dir || a.includes(dir + "/")))
        found.push(pid);
    } catch {}
  }
  return found;
}

// Runs from process.on("exit"), so synchronous: whatever a failed step left behind.
function cleanup() {
  for (const name of names) {
    if (!fs.existsSync(path.join(home, "vms", name))) continue;
    try {
      execFileSync(mcpvm, ["rm", "-f", name], { env, stdio: "ignore", timeout: 30000 });
    } catch {}
  }
  fs.rmSync(home, { recursive: true, force: true });
}
process.on("exit", cleanup);

async function removeAndCheck(name) {
  await mcpvmRun(["rm", "-f", name]);
  for (let i = 0; i < 50 && processesOf(name).length; i++) await new Promise((r) => setTimeout(r, 100));
  check(processesOf(name).length === 0, `${name}: processes left: ${processesOf(name)}`);
  check(!fs.existsSync(path.join(home, "vms", name)), `${name}: its directory is gone`);
}

async function envOf(client) {
  const r = await client.callTool({ name: "get-env", arguments: {} });
  return JSON.parse(textOf(r));
}

// The VM's endpoint token, as a user gets it.
async function tokenOf(name) {
  return JSON.parse((await mcpvmRun(["inspect", name])).stdout).endpoint.token;
}

async function bothTransports(base, label, token) {
  for (const kind of ["http", "sse"]) {
    const client = await connect(base, kind, {}, token);
    const { tools } = await client.listTools();
    check(tools.some((t) => t.name === "echo") && tools.some((t) => t.name === "get-env"), `${label}/${kind}: tools`);
    const r = await client.callTool({ name: "echo", arguments: { message: `${label} over ${kind}` } });
    check(textOf(r).includes(`${label} over ${kind}`), textOf(r));
    const sum = await client.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } });
    check(textOf(sum).includes("42"), textOf(sum));
    await client.close();
  }
}

async function viaProxy(name, label) {
  const client = new Client({ name: `vm-http-proxy-${label}`, version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: mcpvm, args: ["proxy", "stdio", name], env }));
  const r = await client.callTool({ name: "echo", arguments: { message: `proxy ${label}` } });
  check(textOf(r).includes(`proxy ${label}`), textOf(r));
  await client.close();
}

let streamUrl, sseUrl, proxyPort, streamToken;

await run("vm-http", [
  ["import the node MCP image", async () => {
    let layout = path.join(buildDir, "fixtures/node-mcp-layout");
    if (!fs.existsSync(path.join(layout, "index.json"))) {
      layout = path.join(home, "layout");
      await exec("bash", [path.join(here, "../fixtures/make-node-mcp-image.sh"), layout, "mcp"], { timeout: 600_000 });
    }
    await mcpvmRun(["import", "--tag", image, layout]);
  }],
  ["run --transport streamable-http (default target port 8080)", async () => {
    const out = await mcpvmRun(["run", "--name", "vh-stream", "--transport", "streamable-http", "--ready-timeout", "150s",
      image, "--", "streamableHttp"]);
    const m = out.stdout.match(/^vh-stream\s+(http:\/\/127\.0\.0\.1:\d+\/mcp)$/m);
    check(m, `stdout names the VM and its URL: ${out.stdout}`);
    streamUrl = m[1];
    const base = streamUrl.replace(/\/mcp$/, "");
    check(out.stderr.includes(`everything is ready: ${streamUrl} (streamable HTTP), ${base}/sse (SSE)`), out.stderr);
    check(out.stderr.includes("clients need its bearer token (mcpvm inspect vh-stream)"), out.stderr);
    streamToken = await tokenOf("vh-stream");
    check(/^[0-9a-f]{64}$/.test(streamToken), `inspect shows a 256-bit token: ${streamToken}`);
  }],
  ["without the token the SDK client is refused with 401 on both transports", async () => {
    const base = streamUrl.replace(/\/mcp$/, "");
    for (const kind of ["http", "sse"]) {
      let error = null;
      try {
        const c = await connect(base, kind);
        await c.close();
      } catch (e) {
        error = e;
      }
      check(error && /401|Unauthorized/i.test(String(error)), `${kind}: refused: ${error}`);
    }
    const r = await fetch(streamUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    check(r.status === 401 && /^Bearer realm="mcpvm"/.test(r.headers.get("www-authenticate") ?? ""),
      `401 with a Bearer challenge: ${r.status} ${r.headers.get("www-authenticate")}`);
  }],
  ["the runner listens on TCP only for the endpoint: the server is reached through a Unix socket", async () => {
    const state = JSON.parse(fs.readFileSync(path.join(home, "vms", "vh-stream", "state.json"), "utf8"));
    const { stdout } = await exec("ss", ["-Hltnp"]);
    const ours = stdout.split("\n").filter((l) => l.includes(`pid=${state.runner.pid},`));
    const port = new URL(streamUrl).port;
    check(ours.length === 1 && ours[0].includes(`127.0.0.1:${port} `), `runner TCP listeners: ${JSON.stringify(ours)}`);
    const sock = path.join(home, "vms", "vh-stream", "upstream.sock");
    check(fs.statSync(sock).isSocket(), "upstream.sock is the forward");
    check((fs.statSync(path.join(home, "vms", "vh-stream")).mode & 0o777) === 0o700, "in the VM's 0700 directory");
  }],
  ["SDK over streamable HTTP and SSE against our endpoint; the server's env", async () => {
    const base = streamUrl.replace(/\/mcp$/, "");
    await bothTransports(base, "streamableHttp", streamToken);
    const client = await connect(base, "http", {}, streamToken);
    const e = await envOf(client);
    await client.close();
    for (const [k, v] of Object.entries({ MCP_TRANSPORT: "streamable-http", MCP_PORT: "8080", FASTMCP_PORT: "8080",
      PORT: "8080", MCP_HOST: "0.0.0.0" }))
      check(e[k] === v, `${k}=${e[k]} (want ${v})`);
  }],
  ["ls and inspect show the transport and both URLs", async () => {
    const ls = JSON.parse((await mcpvmRun(["ls", "--json"])).stdout).find((v) => v.name === "vh-stream");
    check(ls && ls.transport === "streamable-http" && ls.endpoint === streamUrl &&
      ls.sse_endpoint === streamUrl.replace(/\/mcp$/, "/sse"), JSON.stringify(ls));
    const table = (await mcpvmRun(["ls"])).stdout;
    check(new RegExp(`^vh-stream .*running.*streamable-http.*${streamUrl.replace(/[/.]/g, "\\$&")}`, "m").test(table), table);
    const ins = JSON.parse((await mcpvmRun(["inspect", "vh-stream"])).stdout);
    check(ins.endpoint.transport === "streamable-http" && ins.endpoint.target_port === 8080 &&
      ins.endpoint.streamable_http === streamUrl, JSON.stringify(ins.endpoint));
  }],
  ["proxy stdio NAME", async () => {
    await viaProxy("vh-stream", "streamable");
    const bad = await mcpvmRun(["proxy", "stdio", "no-such-vm"], { allowFail: true });
    check(bad.code !== 0 && /is neither an endpoint URL .* nor a VM/.test(bad.stderr), bad.stderr);
  }],
  ["client config: the SDK connects with exactly what the printed configuration says", async () => {
    const vscode = JSON.parse((await mcpvmRun(["client", "config", "vh-stream", "--for", "vscode"])).stdout);
    const entry = vscode.servers["vh-stream"];
    check(entry.type === "http" && entry.url === streamUrl && entry.headers.Authorization === `Bearer ${streamToken}`,
      JSON.stringify(vscode));
    const http = new Client({ name: "vm-http-client-config", version: "1.0.0" });
    await http.connect(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers: entry.headers } }));
    const r = await http.callTool({ name: "echo", arguments: { message: "from vscode's entry" } });
    check(textOf(r).includes("from vscode's entry"), textOf(r));
    await http.close();
    const desktop = JSON.parse((await mcpvmRun(["client", "config", "vh-stream", "--for", "claude-desktop"])).stdout);
    const spawn = desktop.mcpServers["vh-stream"];
    const stdio = new Client({ name: "vm-http-client-config-stdio", version: "1.0.0" });
    await stdio.connect(new StdioClientTransport({ command: spawn.command, args: spawn.args, env }));
    const r2 = await stdio.callTool({ name: "echo", arguments: { message: "from claude-desktop's entry" } });
    check(textOf(r2).includes("from claude-desktop's entry"), textOf(r2));
    await stdio.close();
    const bad = await mcpvmRun(["client", "config", "vh-stream", "--for", "emacs"], { allowFail: true });
    check(bad.code !== 0 && /unknown client "emacs" \(supported: claude-code/.test(bad.stderr), bad.stderr);
  }],
  ["restart: same URL; a proxy stdio session survives it (the link re-initializes)", async () => {
    const client = new Client({ name: "vm-http-proxy-restart", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: mcpvm, args: ["proxy", "stdio", "vh-stream"], env,
      stderr: "pipe" }));
    let proxyErr = "";
    client.transport.stderr.on("data", (d) => { proxyErr += d; });
    const before = await client.callTool({ name: "echo", arguments: { message: "before restart" } });
    check(textOf(before).includes("before restart"), textOf(before));
    await mcpvmRun(["restart", "vh-stream"]);
    const ls = JSON.parse((await mcpvmRun(["ls", "--json"])).stdout).find((v) => v.name === "vh-stream");
    check(ls && ls.endpoint === streamUrl && ls.status === "running", `same URL after restart: ${JSON.stringify(ls)}`);
    const after = await client.callTool({ name: "echo", arguments: { message: "after restart" } });
    check(textOf(after).includes("after restart"), textOf(after));
    check(/no longer knows session/.test(proxyErr), `the proxy re-initialized: ${proxyErr}`);
    await client.close();
  }],
  ["rm -f leaves nothing", async () => {
    await removeAndCheck("vh-stream");
  }],
  ["run --transport sse with -e MCP_PORT (user wins, forward follows) and --proxy-port", async () => {
    proxyPort = await freePort();
    const out = await mcpvmRun(["run", "--name", "vh-sse", "--transport", "sse", "-e", "MCP_PORT=9091",
      "--proxy-port", String(proxyPort), "--ready-timeout", "150s", image, "--", "sse"]);
    sseUrl = `http://127.0.0.1:${proxyPort}/mcp`;
    check(out.stdout.includes(`vh-sse  ${sseUrl}`), out.stdout);
    const token = await tokenOf("vh-sse");
    await bothTransports(`http://127.0.0.1:${proxyPort}`, "sse", token);
    const client = await connect(`http://127.0.0.1:${proxyPort}`, "sse", {}, token);
    const e = await envOf(client);
    await client.close();
    for (const [k, v] of Object.entries({ MCP_TRANSPORT: "sse", MCP_PORT: "9091", PORT: "9091", MCP_HOST: "0.0.0.0" }))
      check(e[k] === v, `${k}=${e[k]} (want ${v})`);
    await viaProxy("vh-sse", "sse");
  }],
  ["--proxy-port on a taken port fails clearly, before anything starts", async () => {
    const out = await mcpvmRun(["run", "--name", "vh-taken", "--transport", "sse", "--proxy-port", String(proxyPort),
      image, "--", "sse"], { allowFail: true });
    check(out.code !== 0 && out.stderr.includes(`--proxy-port ${proxyPort}: cannot listen on 127.0.0.1:${proxyPort}`),
      out.stderr);
    check(!fs.existsSync(path.join(home, "vms", "vh-taken")), "no VM was created");
  }],
  ["--network none with an HTTP transport is refused", async () => {
    const out = await mcpvmRun(["run", "--name", "vh-none", "--transport", "streamable-http", "--network", "none",
      image, "--", "streamableHttp"], { allowFail: true });
    check(out.code !== 0 && /--transport streamable-http needs the VM's network/.test(out.stderr), out.stderr);
    check(!fs.existsSync(path.join(home, "vms", "vh-none")), "no VM was created");
  }],
  ["rm -f leaves nothing (sse)", async () => {
    await removeAndCheck("vh-sse");
  }],
]);
