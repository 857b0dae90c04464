// An HTTP upstream that forgets our session (issue 7): a real server-everything in streamableHttp mode
// behind `mcpvm bridge --upstream-url` (the same HttpUpstream link the runner uses for HTTP servers in a
// guest) is restarted on the same port between calls. The link must open a new session and replay the
// request the server refused (see src/mcp/http_upstream.cpp), and when re-initializing fails the request
// must end with a JSON-RPC error that says so, after which the next request recovers.
import http from "node:http";
import { check, connect, everything, freePort, run, start, startBridge, stop, textOf, waitForPort } from "./lib.mjs";

const port = await freePort();
let server, bridge, client;

async function startServer() {
  const child = start(process.execPath, [everything, "streamableHttp"], { env: { ...process.env, PORT: String(port) } });
  await waitForPort(port);
  return child;
}

async function echo(message) {
  const r = await client.callTool({ name: "echo", arguments: { message } });
  check(textOf(r).includes(message), `echo ${message}: ${textOf(r)}`);
}

function lostSessions() {
  return (bridge.child.stderrText.match(/no longer knows session/g) ?? []).length;
}

await run("http-upstream-reinit", [
  ["bridge in front of server-everything (streamableHttp), one call", async () => {
    server = await startServer();
    bridge = await startBridge(["--upstream-url", `http://127.0.0.1:${port}/mcp`, "--upstream-transport", "streamable-http"]);
    client = await connect(bridge.base, "http");
    await echo("before restart");
    check(lostSessions() === 0, "no lost session yet");
  }],
  ["server restarted: the next call opens a new session and is replayed", async () => {
    await stop(server);
    server = await startServer();
    await echo("after restart");
    check(lostSessions() === 1, `the bridge logged one lost session:\n${bridge.child.stderrText}`);
    await echo("and again");
    check(lostSessions() === 1, "no second re-initialization while the session holds");
  }],
  ["server restarted again: 6 concurrent calls all answered, one re-initialization", async () => {
    await stop(server);
    server = await startServer();
    await Promise.all([...Array(6).keys()].map((i) => echo(`concurrent ${i}`)));
    check(lostSessions() === 2, `one more lost session (${lostSessions()}):\n${bridge.child.stderrText}`);
    const health = await (await fetch(bridge.base + "/health")).json();
    check(health.upstream.alive === true, JSON.stringify(health));
  }],
  ["re-initializing fails: a clear JSON-RPC error, then the next call recovers", async () => {
    await stop(server);
    // Forgets every session and refuses initialize too.
    const refusing = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
      });
    });
    await new Promise((resolve) => refusing.listen(port, "127.0.0.1", resolve));
    let error;
    try {
      await client.callTool({ name: "echo", arguments: { message: "refused" } });
    } catch (e) {
      error = e;
    }
    check(error && /re-initializing failed/.test(error.message) && /-32000/.test(String(error.code ?? error.message)),
      `error: ${error?.code} ${error?.message}`);
    refusing.closeAllConnections();
    await new Promise((resolve) => refusing.close(resolve));
    server = await startServer();
    await echo("recovered");
    await client.close();
  }],
]);
