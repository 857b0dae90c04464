// mcpvm-demo-server spoken to by the official SDK client over stdio (StdioClientTransport), directly.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import os from "node:os";
import { check, demoServer, run, textOf } from "./lib.mjs";

let client;
await run("demo-server-stdio", [
  ["connect", async () => {
    client = new Client({ name: "e2e-demo", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: demoServer, args: [] }));
    check(client.getServerVersion().name === "mcpvm-demo-server", JSON.stringify(client.getServerVersion()));
  }],
  ["tools", async () => {
    const { tools } = await client.listTools();
    check(["echo", "add", "sysinfo", "sleep", "exit"].every((n) => tools.some((t) => t.name === n)), JSON.stringify(tools));
    check(textOf(await client.callTool({ name: "echo", arguments: { message: "hi" } })) === "Echo: hi", "echo");
    const add = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
    check(add.structuredContent.sum === 42, JSON.stringify(add));
    const info = await client.callTool({ name: "sysinfo", arguments: {} });
    check(info.structuredContent.hostname === os.hostname() && info.structuredContent.sysname === "Linux", JSON.stringify(info));
    const bad = await client.callTool({ name: "echo", arguments: {} });
    check(bad.isError === true, "tool error for a missing argument");
    await client.ping();
  }],
  ["unknown tool is a JSON-RPC error", async () => {
    let err;
    try { await client.callTool({ name: "nope", arguments: {} }); } catch (e) { err = e; }
    check(err && /unknown tool/.test(err.message), String(err));
    await client.close();
  }],
]);
