// Volumes with a real file server (issue 14): @modelcontextprotocol/server-filesystem from npm runs in a TCG
// microVM with a read-only volume (/data) and a writable one (/out), driven by the official SDK client
// through our endpoint: reads work, a write to /data fails with the server's error (the guest gets EROFS) and
// the host tree is unchanged, a write to /out lands on the host owned by the invoking user.
// The server's package is itself shared read-only (/fs), installed once with npm into the fixture cache, and
// node (from the node test image) requires it through 9p.
//
// Needs the guest kernel and the node image (scripts/test-setup.d/oci.sh; built here too when missing).
import { execFile, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { check, connect, here, mcpvm, run, textOf } from "./lib.mjs";

const exec = promisify(execFile);
const buildDir = path.resolve(process.env.MCPVM_BIN_DIR ?? path.join(here, "../../build/bin"), "..");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mcpvm-fs-"));
const env = { ...process.env, MCPVM_HOME: home, MCPVM_ACCEL: process.env.MCPVM_ACCEL ?? "tcg" };
const pkg = "@modelcontextprotocol/server-filesystem";
const version = process.env.MCPVM_FS_MCP_VERSION ?? "2026.8.31";
const cache = process.env.MCPVM_FIXTURE_CACHE ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mcpvm-fixtures");
const npmDir = path.join(cache, `npm-filesystem-${version}`);
const data = path.join(home, "data"), out = path.join(home, "out");

process.on("exit", () => {
  try {
    execFileSync(mcpvm, ["rm", "-f", "vfs"], { env, stdio: "ignore", timeout: 30000 });
  } catch {}
  fs.rmSync(home, { recursive: true, force: true });
});

async function mcpvmRun(args) {
  try {
    return await exec(mcpvm, args, { env, timeout: 300_000 });
  } catch (e) {
    throw new Error(`mcpvm ${args.join(" ")} failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
  }
}

function treeHash(dir) {
  const h = crypto.createHash("sha256");
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name), st = fs.lstatSync(p);
    h.update(`${name} ${st.mode} ${st.size} ${st.mtimeMs}\n`);
    if (st.isFile()) h.update(fs.readFileSync(p));
  }
  return h.digest("hex");
}

let base, client, before;

await run("vm-filesystem", [
  ["npm package and node image", async () => {
    if (!fs.existsSync(path.join(npmDir, ".complete"))) {
      fs.rmSync(npmDir, { recursive: true, force: true });
      fs.mkdirSync(npmDir, { recursive: true });
      await exec("npm", ["install", "--prefix", npmDir, "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error",
        `${pkg}@${version}`], { timeout: 300_000 });
      fs.writeFileSync(path.join(npmDir, ".complete"), "");
    }
    let layout = path.join(buildDir, "fixtures/node-mcp-layout");
    if (!fs.existsSync(path.join(layout, "index.json"))) {
      layout = path.join(home, "layout");
      await exec("bash", [path.join(here, "../fixtures/make-node-mcp-image.sh"), layout, "mcp"], { timeout: 600_000 });
    }
    await mcpvmRun(["import", "--tag", "node:test", layout]);
    fs.mkdirSync(data);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(data, "notes.txt"), "notes from the host\n");
    before = treeHash(data);
  }],
  ["run the filesystem server with /data:ro and /out", async () => {
    const r = await mcpvmRun(["run", "--name", "vfs", "--ready-timeout", "240s", "--network", "none",
      "-v", `${npmDir}:/fs:ro`, "-v", `${data}:/data:ro`, "-v", `${out}:/out`, "--entrypoint", "/usr/bin/node",
      "node:test", "--", `/fs/node_modules/${pkg}/dist/index.js`, "/data", "/out"]);
    const m = r.stdout.match(/^vfs\s+(http:\/\/127\.0\.0\.1:\d+)\/mcp$/m);
    check(m, `stdout names the VM and its URL: ${r.stdout}`);
    base = m[1];
    const token = JSON.parse((await mcpvmRun(["inspect", "vfs"])).stdout).endpoint.token;
    client = await connect(base, "http", {}, token);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ["read_text_file", "write_file", "list_directory"]) check(names.includes(n), `tool ${n} in ${names}`);
  }],
  ["reads work", async () => {
    const r = await client.callTool({ name: "read_text_file", arguments: { path: "/data/notes.txt" } });
    check(!r.isError && textOf(r).includes("notes from the host"), `read: ${textOf(r)}`);
  }],
  ["a write to the read-only volume fails with the server's error; the host tree is unchanged", async () => {
    const r = await client.callTool({ name: "write_file", arguments: { path: "/data/evil.txt", content: "x" } });
    check(r.isError && /EROFS|read-only/i.test(textOf(r)), `write to /data: ${JSON.stringify(r)}`);
    const e = await client.callTool({ name: "edit_file", arguments: { path: "/data/notes.txt",
      edits: [{ oldText: "notes", newText: "pwned" }] } });
    check(e.isError, `edit of /data/notes.txt: ${JSON.stringify(e)}`);
    check(!fs.existsSync(path.join(data, "evil.txt")) && treeHash(data) === before, "the host's /data is unchanged");
  }],
  ["a write to the writable volume lands on the host, owned by the invoking user", async () => {
    const r = await client.callTool({ name: "write_file", arguments: { path: "/out/hello.txt", content: "from the guest" } });
    check(!r.isError, `write to /out: ${textOf(r)}`);
    const file = path.join(out, "hello.txt");
    check(fs.readFileSync(file, "utf8") === "from the guest", "content on the host");
    check(fs.statSync(file).uid === process.getuid(), `owner ${fs.statSync(file).uid}, want ${process.getuid()}`);
    await client.close();
  }],
]);
