#!/usr/bin/env bash
# make demo: the whole product path on the bundled demo server.
#   build the demo image (OCI layout) -> mcpvm import -> mcpvm run (rootfs squashfs, QEMU microVM, runner,
#   MCP endpoint) -> initialize + tools/call over streamable HTTP with curl -> mcpvm ls -> mcpvm rm -f.
set -euo pipefail
build=${1:-build}
mcpvm="$build/bin/mcpvm"
name=mcpvm-demo
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "building the demo image (static mcpvm-demo-server in a scratch-like OCI layout)"
bash "$(dirname "$0")/make-demo-image.sh" "$build" "$build/demo-image"
"$mcpvm" import "$build/demo-image" --tag mcpvm-demo:latest

"$mcpvm" rm -f "$name" >/dev/null 2>&1 || true
cleanup() { "$mcpvm" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "mcpvm run --name $name mcpvm-demo:latest   (boots a microVM; returns when the server answers MCP initialize)"
start=$(date +%s.%N)
out=$("$mcpvm" run --name "$name" mcpvm-demo:latest)
echo "$out"
printf 'ready after %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
url=$(awk '{print $2}' <<<"$out")
[ -n "$url" ] || { echo "demo: mcpvm run printed no endpoint URL" >&2; exit 1; }
# Only the VM's owner may call it: clients send its bearer token (`mcpvm inspect` shows it). curl reads the
# header from a file descriptor so that the token never appears in a process list.
token=$("$mcpvm" inspect "$name" | jq -r .endpoint.token)

# Streamable HTTP: the answer is JSON or one SSE event; print the JSON either way.
rpc() {
  curl -sS --max-time 30 -X POST "$url" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    -H @<(printf 'Authorization: Bearer %s' "$token") \
    ${session:+-H "Mcp-Session-Id: $session"} -D "$build/demo-headers" -d "$1" | sed -n 's/^data: //p;/^{/p'
}

step "initialize"
session=""
rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcpvm-demo","version":"1"}}}' | jq -c .result.serverInfo
session=$(tr -d '\r' <"$build/demo-headers" | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
rpc '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null

step "tools/list"
rpc '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | jq -r '.result.tools[] | "  \(.name): \(.description)"'

step "tools/call sysinfo   (answered from inside the microVM: note the guest kernel and hostname)"
answer=$(rpc '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sysinfo","arguments":{}}}')
jq -r '.result.content[0].text' <<<"$answer"
jq -e '.result.content[0].text | length > 0' <<<"$answer" >/dev/null

step "mcpvm ls"
"$mcpvm" ls

step "mcpvm rm -f $name"
"$mcpvm" rm -f "$name"
trap - EXIT
echo
echo "demo: OK — an MCP tool call went through the HTTP endpoint into a microVM and back."
