// 10 SDK clients at once on ONE stdio server (server-everything) behind `mcpvm bridge`: each must get its
// own answers (request-id rewriting) and its own progress notifications (progress-token rewriting).
import { check, connect, everything, run, startBridge, textOf } from "./lib.mjs";

let bridge;
const N = 10;

async function oneClient(i) {
  const client = await connect(bridge.base, i % 3 === 0 ? "sse" : "streamable");
  for (let k = 0; k < 15; k++) {
    const msg = `client ${i} call ${k}`;
    const [echo, sum] = await Promise.all([
      client.callTool({ name: "echo", arguments: { message: msg } }),
      client.callTool({ name: "get-sum", arguments: { a: i * 1000, b: k } }),
    ]);
    check(textOf(echo).includes(msg), `client ${i} got "${textOf(echo)}" for "${msg}"`);
    check(textOf(sum).includes(String(i * 1000 + k)), `client ${i} sum ${textOf(sum)}`);
  }
  // Progress is counted on the wire (see sdk-everything.test.mjs for why not only onprogress).
  const wire = [];
  const onmessage = client.transport.onmessage;
  client.transport.onmessage = (m, extra) => {
    if (m.method === "notifications/progress") wire.push(m.params.progress);
    onmessage(m, extra);
  };
  const progress = [];
  await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push(p) },
  );
  check(JSON.stringify(wire) === "[1,2,3]", `client ${i}: progress on the wire ${JSON.stringify(wire)}`);
  check(progress.length >= 2, `client ${i}: onprogress saw ${progress.length}`);
  await client.close();
}

await run("sdk-concurrent", [
  ["start bridge", async () => { bridge = await startBridge(["--", process.execPath, everything, "stdio"]); }],
  [`${N} concurrent clients`, () => Promise.all(Array.from({ length: N }, (_, i) => oneClient(i)))],
  ["health after", async () => {
    const h = await (await fetch(bridge.base + "/health")).json();
    check(h.status === "ok" && h.pending_requests === 0, JSON.stringify(h));
  }],
]);
