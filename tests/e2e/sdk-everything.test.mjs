// The official TypeScript SDK client (StreamableHTTPClientTransport and SSEClientTransport) against
// @modelcontextprotocol/server-everything through mcpvm's endpoint, for one server mode:
//   node sdk-everything.test.mjs stdio|sse|streamableHttp
// stdio: `mcpvm bridge -- node everything stdio`; sse/streamableHttp: server-everything listens on a
// loopback port and `mcpvm bridge --upstream-url` forwards to it (the HttpUpstream a VM's port uses).
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { check, connect, everything, run, startBridge, startEverythingHttp, textOf } from "./lib.mjs";

const mode = process.argv[2] ?? "stdio";
const capabilities = { sampling: {} };
let bridge;

async function startFront() {
  if (mode === "stdio") return startBridge(["--", process.execPath, everything, "stdio"]);
  const server = await startEverythingHttp(mode);
  return startBridge(["--upstream-url", server.url, "--upstream-transport", mode === "sse" ? "sse" : "streamable-http"]);
}

async function exercise(kind) {
  const client = await connect(bridge.base, kind, capabilities);
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    model: "e2e-model",
    role: "assistant",
    content: { type: "text", text: `sampled(${kind}): ${req.params.messages[0].content.text}` },
  }));
  const info = client.getServerVersion();
  check(info?.name?.includes("everything"), `server name ${JSON.stringify(info)}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ["echo", "get-sum", "trigger-long-running-operation"]) check(names.includes(n), `tool ${n} in ${names}`);

  const echo = await client.callTool({ name: "echo", arguments: { message: `hello over ${kind}` } });
  check(textOf(echo).includes(`hello over ${kind}`), `echo answer: ${textOf(echo)}`);
  const sum = await client.callTool({ name: "get-sum", arguments: { a: 19, b: 23 } });
  check(textOf(sum).includes("42"), `sum answer: ${textOf(sum)}`);

  const { resources } = await client.listResources();
  check(resources.length > 0, "resources listed");
  const read = await client.readResource({ uri: resources[0].uri });
  check(read.contents.length > 0 && read.contents[0].uri === resources[0].uri, "resource read");
  const { resourceTemplates } = await client.listResourceTemplates();
  check(resourceTemplates.length > 0, "resource templates listed");

  const { prompts } = await client.listPrompts();
  check(prompts.some((p) => p.name === "simple-prompt"), `prompts: ${prompts.map((p) => p.name)}`);
  const prompt = await client.getPrompt({ name: "simple-prompt" });
  check(prompt.messages.length > 0, "prompt messages");

  // What the endpoint delivers is checked on the wire (the transport's onmessage): every progress
  // notification, in order, before the answer. (The SDK's SSEClientTransport hands the last one to
  // onprogress only after the result resolved, so onprogress may see one fewer.)
  const wire = [];
  const onmessage = client.transport.onmessage;
  client.transport.onmessage = (m, extra) => {
    if (m.method === "notifications/progress") wire.push(m.params.progress);
    else if (m.result?.content?.[0]?.text?.startsWith("Long running operation")) wire.push("result");
    onmessage(m, extra);
  };
  const progress = [];
  const long = await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 4 } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  check(JSON.stringify(wire) === JSON.stringify([1, 2, 3, 4, "result"]), `wire order ${JSON.stringify(wire)}`);
  check(progress.length >= 3 && progress.every((v, i) => v === i + 1), `onprogress ${JSON.stringify(progress)}`);
  check(textOf(long).length > 0, "long operation answered");

  if (names.includes("trigger-sampling-request")) {
    const sampled = await client.callTool({
      name: "trigger-sampling-request",
      arguments: { prompt: `question from ${kind}`, maxTokens: 20 },
    });
    const answer = JSON.stringify(sampled.content);
    check(answer.includes(`sampled(${kind})`) && answer.includes(`question from ${kind}`), `sampling answer: ${answer}`);
  } else {
    throw new Error("server-everything did not offer trigger-sampling-request although the client can sample");
  }
  check((await client.ping()) !== undefined, "ping");
  await client.close();
}

await run(`sdk-${mode}`, [
  ["start endpoint", async () => { bridge = await startFront(); }],
  ["StreamableHTTPClientTransport", () => exercise("streamable")],
  ["SSEClientTransport", () => exercise("sse")],
  ["a second streamable client after the first left", () => exercise("streamable")],
  ["health", async () => {
    const h = await (await fetch(bridge.base + "/health")).json();
    check(h.status === "ok" && h.upstream.initialized === true, JSON.stringify(h));
  }],
]);
