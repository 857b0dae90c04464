#!/usr/bin/env bash
# Run by name from a registry (issue 18), end to end with real parts: demo/registry.json (the shipped file,
# its image address pointed at this test's registry) served over http by python3 on 127.0.0.1, the node
# MCP test image (server-everything from npm) pushed to a real docker-registry on 127.0.0.1, a TCG microVM,
# and the official SDK client calling a tool with exactly what the registered client config says.
#   usage: registry_run.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=vm_test_lib.sh
source "$src/tests/integration/vm_test_lib.sh"
vm_test_setup registry
WORK=$work
# shellcheck source=registry/harness.sh
source "$src/tests/integration/registry/harness.sh"
cleanup_all() { stop_all; vm_test_cleanup; }
trap cleanup_all EXIT
node_bin=$(command -v node)

log "== fixtures: the node MCP image in a docker-registry on 127.0.0.1, the shipped registry file over http"
layout=$build/fixtures/node-mcp-layout
[ -f "$layout/index.json" ] || bash "$src/tests/fixtures/make-node-mcp-image.sh" "$layout" mcp >/dev/null
start_registry R open
R=$REG_R
push "$layout:mcp" "$R/mcpvm/server-everything:2026.8.31"
mkdir -p "$work/www"
sed "s/127\.0\.0\.1:5000/$R/g" "$src/demo/registry.json" >"$work/www/registry.json"
cat >"$work/www/secret-registry.json" <<JSON
{"servers": {"needs-secret": {"image": "$R/mcpvm/server-everything:2026.8.31", "description": "wants a token",
  "env_vars": [{"name": "API_TOKEN", "description": "The service's token", "required": true, "secret": true},
               {"name": "REGION", "description": "Where it runs", "required": true}]},
  "wants-etc": {"image": "$R/mcpvm/server-everything:2026.8.31", "description": "shares a host path",
  "permissions": {"read": ["/etc"], "network": {"outbound": {"insecure_allow_all": false}}}}}}
JSON
www_port=$(free_port)
(cd "$work/www" && exec python3 -m http.server --bind 127.0.0.1 "$www_port" >"$work/www.log" 2>&1) &
PIDS+=($!)
wait_http "http://127.0.0.1:$www_port/registry.json"
url=http://127.0.0.1:$www_port/registry.json

log "== registry add / ls / search / info"
check '"$mcpvm" registry add "$url" 2>"$work/add.err" && grep -q "added url registry $url: 2 runnable servers" "$work/add.err"' \
  "registry add URL"
check '! "$mcpvm" registry add "http://127.0.0.1:$www_port/nothere.json" 2>"$work/add404.err" && grep -q "HTTP 404" "$work/add404.err"' \
  "a URL that does not answer is refused at add time"
printf '{"servers": 7}' >"$work/bad.json"
check '! "$mcpvm" registry add "$work/bad.json" 2>"$work/addbad.err" && grep -q "servers: expected an object" "$work/addbad.err"' \
  "a file of no known shape is refused"
check '[ "$("$mcpvm" registry ls --json | jq -c "[.[].kind]")" = "[\"url\"]" ]' "registry ls lists only the good one"
check '[ "$(stat -c %a "$MCPVM_HOME/registries.json")" = 600 ]' "registries.json is 0600"
check '"$mcpvm" search everything 2>/dev/null | grep -q "^io.github.mcpvm/everything "' "search everything"
check '[ "$("$mcpvm" search --json reference http | jq -r ".[].name")" = "io.github.mcpvm/everything-http" ]' \
  "search --json with two words matches only the entry with both"
check '"$mcpvm" registry info everything --json | jq -e ".image == \"$R/mcpvm/server-everything:2026.8.31\" and .transport == \"stdio\" and .args == [\"stdio\"]" >/dev/null' \
  "registry info by short name"

log "== every flag of run is checked before any registry, store or pull"
requests_before=$(grep -c "GET /" "$work/www.log")
check '! "$mcpvm" run --memory 0 everything 2>"$work/f1" && grep -q "^mcpvm: --memory 0: a VM needs at least 64 MiB$" "$work/f1"' "--memory 0 is refused first"
check '! "$mcpvm" run -p 99999:80 everything 2>"$work/f2" && grep -q "^mcpvm: -p \"99999:80\": " "$work/f2"' "-p 99999:80 is refused first"
check '! "$mcpvm" run --allow-host "*" everything 2>"$work/f3" && grep -q "^mcpvm: allowed host \"\*\"" "$work/f3"' "--allow-host '*' is refused first"
check '[ "$(grep -c "GET /" "$work/www.log")" = "$requests_before" ] && [ "$("$mcpvm" images --json | jq length)" = 0 ]' \
  "... and none of them asked the registry or pulled anything"

log "== a missing required secret fails before anything is pulled or booted, listing what is needed"
"$mcpvm" registry add "http://127.0.0.1:$www_port/secret-registry.json" 2>/dev/null
err=$("$mcpvm" run needs-secret 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "needs-secret needs 2 environment variables that were not given (nothing was started):"' "the header ($err)"
check 'echo "$err" | grep -q "API_TOKEN (secret): The service.s token; give it with \`mcpvm secret set API_TOKEN\`" && echo "$err" | grep -q "REGION: Where it runs; give it with -e REGION=VALUE"' \
  "each variable with how to give it"
check '[ ! -e "$MCPVM_HOME/vms/needs-secret" ] && [ "$("$mcpvm" images --json | jq length)" = 0 ]' "no VM, no pull"
err=$(MCPVM_SECRET_API_TOKEN=x "$mcpvm" run --pull never needs-secret 2>&1 >/dev/null)
check 'echo "$err" | grep -q "REGION: Where" && ! echo "$err" | grep -q API_TOKEN' "a secret in MCPVM_SECRET_API_TOKEN counts as given by its default name"
err=$(MCPVM_SECRET_API_TOKEN=x "$mcpvm" run --pull never -e REGION=eu needs-secret 2>&1 >/dev/null)
check 'echo "$err" | grep -q "is not in the local store and --pull never was given"' "with everything given, --pull never stops at the store ($err)"

log "== host paths a registry entry wants shared need --accept-mounts"
err=$("$mcpvm" run --pull never wants-etc 2>&1 >/dev/null)
check 'echo "$err" | grep -q "wants-etc: the registry entry shares host paths with the VM:" && echo "$err" | grep -q "^  /etc (read-only)$" && echo "$err" | grep -q -- "--accept-mounts"' \
  "refused without consent, naming the path ($err)"
err=$("$mcpvm" run --pull never --accept-mounts wants-etc 2>&1 >/dev/null)
check 'echo "$err" | grep -q "is not in the local store and --pull never was given"' "--accept-mounts gets past the check ($err)"

log "== search -> run NAME --register -> a tool call from the registered client config"
h=$work/clienthome
mkdir -p "$h" && printf '{\n  "numStartups": 1\n}\n' >"$h/.claude.json" && chmod 600 "$h/.claude.json"
start=$(date +%s)
HOME=$h "$mcpvm" run --register claude-code --ready-timeout 240s everything >"$work/run.out" 2>"$work/run.err"
check '[ $? -eq 0 ]' "run everything ($(tail -3 "$work/run.err"))"
log "ready after $(( $(date +%s) - start )) s (pull + rootfs + TCG boot + node start)"
check 'grep -q "pulling $R/mcpvm/server-everything:2026.8.31" "$work/run.err"' "the entry's image was pulled (plain http: a loopback registry)"
check 'grep -q "^everything  http://127.0.0.1:[0-9]*/mcp$" "$work/run.out"' "the VM is named after the entry: $(cat "$work/run.out")"
check '"$mcpvm" inspect everything | jq -e ".config.process.argv[-1] == \"stdio\" and .config.network.egress.mode == \"deny-all\"" >/dev/null' \
  "the entry's args and permission profile (deny-all egress) are applied"
out=$(cd "$src/tests/e2e" && "$node_bin" call-registered.mjs "$h/.claude.json" mcpServers everything echo '{"message":"hello from the registry"}' 2>"$work/call.err")
check '[ "$out" = "Echo: hello from the registry" ]' "the SDK client with the config's URL and headers called echo: $out $(cat "$work/call.err")"
check 'HOME=$h "$mcpvm" rm -f everything >/dev/null && jq -e ".mcpServers == {} and .numStartups == 1" "$h/.claude.json" >/dev/null' "rm -f removes the VM and its client entry"
log "== the streamable-HTTP entry: its transport and target port come from the registry"
HOME=$h "$mcpvm" run --register claude-code --ready-timeout 240s everything-http >"$work/run2.out" 2>"$work/run2.err"
check '[ $? -eq 0 ]' "run everything-http ($(tail -2 "$work/run2.err"))"
check '"$mcpvm" inspect everything-http | jq -e ".config.mcp.transport == \"streamable-http\" and .config.mcp.target_port == 3001" >/dev/null' \
  "transport streamable-http, target port 3001 (from the transport URL)"
out=$(cd "$src/tests/e2e" && "$node_bin" call-registered.mjs "$h/.claude.json" mcpServers everything-http get-sum '{"a":19,"b":23}' 2>"$work/call2.err")
check 'echo "$out" | grep -q 42' "get-sum through the registered entry: $out $(cat "$work/call2.err")"
check 'HOME=$h "$mcpvm" rm -f everything-http >/dev/null' "rm -f everything-http"
check '"$mcpvm" registry rm 1 2>/dev/null && [ "$("$mcpvm" registry ls --json | jq length)" = 1 ]' "registry rm by number"

log "registry_run: $failures failure(s)"
[ "$failures" -eq 0 ]
