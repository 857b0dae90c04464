// Messages a server sends outside any request (logging, list_changed, resource updates, its own
// requests) travel on the session's standalone GET stream. A resumable server (one with an event store)
// gives ids to the events of POST streams too; the HttpUpstream link must not send such an id as the
// first GET's Last-Event-ID, or the server answers with a replay of that POST stream and the session's
// stream never opens (issue 16: every such message was lost through mcpvm). The fixture server is ours
// (fixtures/notify-server.mjs); the same client talks to it directly (control) and through the bridge.
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { check, freePort, here, run, start, startBridge, waitForPort } from "./lib.mjs";

const port = await freePort();

// Connects, calls notify-later and waits (up to 8 s) for the notification sent outside the request.
async function notificationArrives(url, label) {
  const client = new Client({ name: `standalone-${label}`, version: "1.0.0" });
  const got = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => got.push(n.params.data));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  await new Promise((r) => setTimeout(r, 500));  // the client opens its GET stream after initialized
  const r = await client.callTool({ name: "notify-later", arguments: { delayMs: 300 } });
  check(JSON.stringify(r).includes("will notify"), JSON.stringify(r));
  for (let i = 0; i < 80 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 100));
  await client.close();
  return got;
}

await run("http-upstream-standalone", [
  ["the fixture server, directly: the notification arrives", async () => {
    start(process.execPath, [path.join(here, "fixtures/notify-server.mjs"), String(port)]);
    await waitForPort(port);
    const got = await notificationArrives(`http://127.0.0.1:${port}/mcp`, "direct");
    check(got.includes("sent outside any request"), `direct: ${JSON.stringify(got)}`);
  }],
  ["through mcpvm's HttpUpstream (bridge --upstream-url): the notification arrives too", async () => {
    const bridge = await startBridge(["--upstream-url", `http://127.0.0.1:${port}/mcp`,
      "--upstream-transport", "streamable-http"]);
    const got = await notificationArrives(bridge.base + "/mcp", "bridged");
    check(got.includes("sent outside any request"), `through mcpvm: ${JSON.stringify(got)}\n${bridge.child.stderrText}`);
  }],
]);
