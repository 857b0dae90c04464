#!/usr/bin/env bash
# make demo: the whole product path, twice.
#   1. The bundled demo server: build its image (OCI layout) -> mcpvm import -> mcpvm run (rootfs squashfs,
#      QEMU microVM, runner, MCP endpoint) -> initialize + tools/call with curl -> mcpvm ls -> mcpvm rm -f.
#   2. A real npm MCP server by registry name, as a new user would: server-everything packed as an image
#      and served by a docker-registry on 127.0.0.1, demo/registry.json added as a registry, `mcpvm search`,
#      `mcpvm run --register claude-code NAME` in a temporary HOME, and a tool called by the official SDK
#      client with exactly the URL and headers written into that HOME's ~/.claude.json. Then cleaned up.
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

# --- 2. By registry name ---
root=$(cd "$(dirname "$0")/.." && pwd)
demo=$(mktemp -d /tmp/mcpvm-demo-XXXXXX)
registry_pid=""
cleanup_registry_demo() {
  HOME=$demo/home MCPVM_HOME=$demo/mcpvm "$mcpvm" rm -f everything >/dev/null 2>&1 || true
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; fi
  registry_pid=""
  rm -rf "$demo"
}
trap cleanup_registry_demo EXIT
as_user() { HOME=$demo/home MCPVM_HOME=$demo/mcpvm "$@"; }
mkdir -p "$demo/home" && printf '{}\n' >"$demo/home/.claude.json" && chmod 600 "$demo/home/.claude.json"

step "packing @modelcontextprotocol/server-everything (npm) as an image; a docker-registry on 127.0.0.1 serves it"
bash "$root/scripts/test-setup.d/mcp.sh" "$build" >/dev/null   # the SDK client (tests/e2e/node_modules)
bash "$root/tests/fixtures/make-node-mcp-image.sh" "$build/fixtures/node-mcp-layout" mcp >/dev/null
port=5000   # demo/registry.json's address; another free one when 5000 is taken
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
mkdir -p "$demo/registry"
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
  "$demo/registry" "$port" >"$demo/registry.yml"
/usr/bin/docker-registry serve "$demo/registry.yml" >"$demo/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$build/fixtures/node-mcp-layout:mcp" \
  "docker://127.0.0.1:$port/mcpvm/server-everything:2026.8.31" >/dev/null
sed "s/127\.0\.0\.1:5000/127.0.0.1:$port/g" "$root/demo/registry.json" >"$demo/registry.json"
echo "registry file: demo/registry.json (images at 127.0.0.1:$port); HOME=$demo/home"

step "mcpvm registry add demo/registry.json"
as_user "$mcpvm" registry add "$demo/registry.json"

step "mcpvm search everything"
as_user "$mcpvm" search everything

step "mcpvm run --register claude-code everything   (pulls the image, boots it, writes ~/.claude.json)"
start=$(date +%s.%N)
as_user "$mcpvm" run --register claude-code --ready-timeout 240s everything
printf 'ready after %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
echo "~/.claude.json now holds:"
jq '.mcpServers.everything | .headers.Authorization |= (.[0:14] + "...")' "$demo/home/.claude.json"

step "the official MCP SDK client calls get-sum with exactly that URL and header"
answer=$(cd "$root/tests/e2e" && node call-registered.mjs "$demo/home/.claude.json" mcpServers everything get-sum '{"a":19,"b":23}')
echo "$answer"
grep -q 42 <<<"$answer"

step "mcpvm rm -f everything   (also takes the entry out of ~/.claude.json)"
as_user "$mcpvm" rm -f everything
jq -c . "$demo/home/.claude.json"
cleanup_registry_demo
trap - EXIT
echo
echo "demo: OK — a real npm MCP server found by registry name, registered with a client, called through its config."
