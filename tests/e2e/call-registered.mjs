// Calls a tool the way an MCP client that read its own config file would: the official SDK client with
// exactly the URL and headers of the entry `mcpvm client register` / `run --register` wrote. Used by
// `make demo` and tests/integration/registry_run.sh.
//
//   node call-registered.mjs CONFIG_FILE SERVERS_KEY ENTRY TOOL ARGUMENTS_JSON
//   e.g. node call-registered.mjs ~/.claude.json mcpServers everything echo '{"message":"hi"}'
//
// Prints the tool's text content; exits 1 (with the reason on stderr) when anything fails.
import fs from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [configFile, key, name, tool, argsJson = "{}"] = process.argv.slice(2);
if (!tool) {
  console.error("usage: call-registered.mjs CONFIG_FILE SERVERS_KEY ENTRY TOOL [ARGUMENTS_JSON]");
  process.exit(2);
}
const entry = JSON.parse(fs.readFileSync(configFile, "utf8"))?.[key]?.[name];
if (!entry?.url) {
  console.error(`${configFile}: no ${key}.${name}.url`);
  process.exit(1);
}
const transport = new StreamableHTTPClientTransport(new URL(entry.url), {
  requestInit: { headers: entry.headers ?? {} },
});
const client = new Client({ name: "mcpvm-registered-client", version: "1.0.0" });
const timer = setTimeout(() => { console.error("timed out after 120 s"); process.exit(1); }, 120_000);
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  console.error(`${name}: ${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);
  const result = await client.callTool({ name: tool, arguments: JSON.parse(argsJson) });
  if (result.isError) throw new Error(`tool ${tool} failed: ${JSON.stringify(result.content)}`);
  console.log(result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n"));
  await client.close();
  clearTimeout(timer);
} catch (e) {
  console.error(`call-registered: ${e.message}`);
  process.exit(1);
}
