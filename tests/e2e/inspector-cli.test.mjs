// The MCP Inspector in CLI mode against server-everything through mcpvm, for one server mode:
//   node inspector-cli.test.mjs stdio|sse|streamableHttp
// Each invocation is a separate client session (initialize, one method, close) over http or sse.
import { execFile } from "node:child_process";
import path from "node:path";
import { check, everything, here, run, startBridge, startEverythingHttp } from "./lib.mjs";

const mode = process.argv[2] ?? "stdio";
const inspectorCli = path.join(here, "node_modules/@modelcontextprotocol/inspector/cli/build/index.js");
let bridge;

function inspector(url, transport, args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [inspectorCli, url, "--transport", transport, ...args], { timeout: 90000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`inspector ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        try { resolve(JSON.parse(stdout)); } catch { reject(new Error(`inspector printed no JSON: ${stdout}\n${stderr}`)); }
      });
  });
}

// Each Inspector run is a whole client session (initialize, one method, close); they run in parallel
// (one Node start-up costs seconds on a loaded 2-core machine).
async function exercise(transport) {
  const url = transport === "sse" ? bridge.base + "/sse" : bridge.base + "/mcp";
  const [tools, echo, sum, resources, prompts, prompt] = await Promise.all([
    inspector(url, transport, ["--method", "tools/list"]),
    inspector(url, transport, ["--method", "tools/call", "--tool-name", "echo", "--tool-arg", `message=from-inspector-${transport}`]),
    inspector(url, transport, ["--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=40", "b=2"]),
    inspector(url, transport, ["--method", "resources/list"]),
    inspector(url, transport, ["--method", "prompts/list"]),
    inspector(url, transport, ["--method", "prompts/get", "--prompt-name", "simple-prompt"]),
  ]);
  check(tools.tools.some((t) => t.name === "echo"), "tools/list has echo");
  check(JSON.stringify(echo.content).includes(`from-inspector-${transport}`), `echo: ${JSON.stringify(echo)}`);
  check(JSON.stringify(sum.content).includes("42"), `get-sum: ${JSON.stringify(sum)}`);
  check(resources.resources.length > 0, "resources/list");
  check(prompts.prompts.some((p) => p.name === "simple-prompt"), "prompts/list");
  check(prompt.messages.length > 0, "prompts/get");
  const read = await inspector(url, transport, ["--method", "resources/read", "--uri", resources.resources[0].uri]);
  check(read.contents.length > 0 && read.contents[0].uri === resources.resources[0].uri, "resources/read");
}

await run(`inspector-${mode}`, [
  ["start endpoint", async () => {
    if (mode === "stdio") {
      bridge = await startBridge(["--", process.execPath, everything, "stdio"]);
    } else {
      const server = await startEverythingHttp(mode);
      bridge = await startBridge(["--upstream-url", server.url, "--upstream-transport", mode === "sse" ? "sse" : "streamable-http"]);
    }
  }],
  ["inspector --transport http", () => exercise("http")],
  ["inspector --transport sse", () => exercise("sse")],
]);
