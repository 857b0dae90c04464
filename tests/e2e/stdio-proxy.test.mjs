// `mcpvm proxy stdio URL`: an SDK client that only spawns processes reaches an mcpvm endpoint through it.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { check, demoServer, everything, mcpvm, run, startBridge, stop, textOf } from "./lib.mjs";

let bridge;
async function viaProxy(url, label) {
  const client = new Client({ name: `e2e-proxy-${label}`, version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: mcpvm, args: ["proxy", "stdio", url] }));
  const echo = await client.callTool({ name: "echo", arguments: { message: `via proxy ${label}` } });
  check(textOf(echo).includes(`via proxy ${label}`), textOf(echo));
  return client;
}

await run("stdio-proxy", [
  ["demo server behind bridge, proxy over streamable HTTP and SSE", async () => {
    bridge = await startBridge(["--", demoServer]);
    await (await viaProxy(bridge.url, "http")).close();
    await (await viaProxy(bridge.base + "/sse", "sse")).close();
    await stop(bridge.child);
  }],
  ["server-everything: progress through the proxy", async () => {
    bridge = await startBridge(["--", process.execPath, everything, "stdio"]);
    const client = await viaProxy(bridge.url, "everything");
    // Checked on the wire: the SDK runs notification handlers in a later microtask than responses, so
    // a progress notification read in the same chunk as the result can miss onprogress.
    const wire = [];
    const onmessage = client.transport.onmessage;
    client.transport.onmessage = (m, extra) => {
      if (m.method === "notifications/progress") wire.push(m.params.progress);
      else if (m.result) wire.push("result");
      onmessage(m, extra);
    };
    await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.5, steps: 2 } },
      undefined, { onprogress: () => {} });
    check(JSON.stringify(wire) === '[1,2,"result"]', JSON.stringify(wire));
    await client.close();
  }],
]);
