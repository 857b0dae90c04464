#!/usr/bin/env bash
# Lifecycle of detached VMs under TCG (issue 5): run / ls / logs / inspect / stop / start / restart / rm,
# kill -9 of the runner and of QEMU, kill -TERM of the runner (final: no restart), readiness failure,
# restart-policy counts, concurrent same-name runs, corrupt state. After each scenario: no process of that VM may remain, checked by pid + start time from
# state.json and by scanning /proc for our binaries (mcpvm __runner DIR, qemu-system-* with DIR).
#
# usage: runner_lifecycle.sh BUILD_DIR [SCENARIO...]     (needs the guest kernel: scripts/fetch-kernel.sh)
set -uo pipefail
build=$(cd "${1:?usage: runner_lifecycle.sh BUILD_DIR}" && pwd)
shift
src=${MCPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tests/integration/vm_test_lib.sh"
vm_test_setup lc
export MCPVM_RESTART_DELAY_MS=300

# --- fixtures: a busybox rootfs with the static demo MCP server, as a squashfs ---------------------------
make_demo_squashfs
cat > "$work/demo.json" <<'J'
{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "Env": ["PATH=/usr/local/bin:/bin"], "User": "app"}
J
cat > "$work/sh.json" <<'J'
{"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/bin"]}
J
demo=(--rootfs "$work/demo.sqfs" --image-config "$work/demo.json")
shell=(--rootfs "$work/demo.sqfs" --image-config "$work/sh.json")

state() { cat "$MCPVM_HOME/vms/$1/state.json" 2>/dev/null; }
field() { state "$1" | jq -r "$2" 2>/dev/null; }
ls_status() { "$mcpvm" ls -a --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .status'; }

# Processes of VM $1 by /proc scan: runner (mcpvm __runner DIR) or QEMU (its args mention DIR/).
vm_procs() {
  local dir=$MCPVM_HOME/vms/$1 f cmd
  # Candidates first (one grep over all command lines), then the exact rules for each.
  for f in $(grep -l -s -a -F -- "$dir" /proc/[0-9]*/cmdline); do
    cmd=$(tr '\0' '\n' 2>/dev/null < "$f") || continue
    local pid=${f#/proc/}
    pid=${pid%/cmdline}
    if printf '%s\n' "$cmd" | grep -qx -- "$dir" && printf '%s\n' "$cmd" | grep -qx -- "__runner"; then echo "$pid"; continue; fi
    if printf '%s\n' "$cmd" | head -1 | grep -q 'qemu-system' && printf '%s\n' "$cmd" | grep -q -- "$dir/"; then echo "$pid"; fi
  done
}

# Is the process recorded as {pid, start_time} still the same live process?
alive_identity() {
  local pid=$1 start=$2
  [ -n "$pid" ] && [ "$pid" != null ] || return 1
  local stat
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  local rest=${stat##*) }
  # shellcheck disable=SC2086
  set -- $rest
  [ "$1" != Z ] && [ "${20}" = "$start" ]
}

# Saves the identities of the VM's processes (call while it runs) for no_leftovers.
remember() { recorded_runner=$(field "$1" '"\(.runner.pid) \(.runner.start_time)"'); recorded_qemu=$(field "$1" '"\(.qemu.pid) \(.qemu.start_time)"'); }

no_leftovers() {
  local name=$1 waited=0
  while [ -n "$(vm_procs "$name")" ] && [ $waited -lt 50 ]; do sleep 0.2; waited=$((waited + 1)); done
  check '[ -z "$(vm_procs "$name")" ]' "$name: no process left in /proc"
  # shellcheck disable=SC2086
  check '! alive_identity ${recorded_runner:-none 0}' "$name: the recorded runner (pid+start time) is gone"
  # shellcheck disable=SC2086
  check '! alive_identity ${recorded_qemu:-none 0}' "$name: the recorded QEMU (pid+start time) is gone"
}

initialize_body='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'

# NAME [TOKEN] -> prints the JSON-RPC response body of an initialize sent to the VM's endpoint, with the
# VM's bearer token (or TOKEN; "" sends none). The header comes from a file, as a user should pass it:
# never in curl's argv, which other users can read.
mcp_initialize() {
  local token=${2-$(cat "$MCPVM_HOME/vms/$1/endpoint-token" 2>/dev/null)}
  curl -s --max-time 30 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    ${token:+-H @<(printf 'Authorization: Bearer %s' "$token")} -d "$initialize_body" "$(field "$1" .endpoint)"
}

http_status() {  # NAME [TOKEN] -> the HTTP status of an initialize with that credential
  local token=${2-}
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' ${token:+-H @<(printf 'Authorization: Bearer %s' "$token")} \
    -d "$initialize_body" "$(field "$1" .endpoint)"
}

# --- scenarios -------------------------------------------------------------------------------------------
scenario_basic() {
  log "== basic: run / ls / inspect / logs / stop / start / restart / rm"
  out=$("$mcpvm" run --name basic "${demo[@]}" image-unused 2>&1)
  rc=$?
  check '[ $rc -eq 0 ]' "run succeeded (exit $rc)"
  check 'echo "$out" | grep -q "^basic"' "run prints the name ($out)"
  url=$(field basic .endpoint)
  check 'echo "$out" | grep -qF "$url" && [ -n "$url" ]' "run prints the endpoint URL"
  check '[ "$(ls_status basic)" = running ]' "ls: running"
  check '"$mcpvm" ls | grep -q "^basic .*running.*$url"' "ls table shows status and endpoint"
  check 'mcp_initialize basic | grep -q "\"serverInfo\""' "the endpoint answers initialize with the VM's token"
  token=$(cat "$MCPVM_HOME/vms/basic/endpoint-token")
  check '[ ${#token} -eq 64 ] && [ "$(stat -c %a "$MCPVM_HOME/vms/basic/endpoint-token")" = 600 ]' "a 256-bit token in a 0600 file"
  check '[ "$(http_status basic)" = 401 ]' "no token: 401"
  check '[ "$(http_status basic "$(printf %064d 0)")" = 401 ]' "a wrong token: 401"
  check '[ "$(http_status basic "$token")" = 200 ]' "the token: 200"
  check '"$mcpvm" inspect basic | jq -e --arg t "$token" ".endpoint.auth == \"bearer\" and .endpoint.token == \$t and .endpoint.headers.Authorization == \"Bearer \" + \$t" >/dev/null' "inspect shows the token and the header to send"
  check '! "$mcpvm" ls --json | grep -qF "$token"' "ls --json does not print the token"
  check 'echo "$initialize_body" | timeout 30 "$mcpvm" proxy stdio basic | grep -q "\"serverInfo\""' "proxy stdio NAME sends the token"
  check 'echo "$initialize_body" | MCPVM_ENDPOINT_TOKEN=$token timeout 30 "$mcpvm" proxy stdio "$url" | grep -q "\"serverInfo\""' "proxy stdio URL takes MCPVM_ENDPOINT_TOKEN"
  check 'echo "$initialize_body" | timeout 30 "$mcpvm" proxy stdio "$url" | grep -q "HTTP 401"' "proxy stdio URL without a token reports the 401"
  check '"$mcpvm" inspect basic | jq -e ".state.runner.pid > 0 and .state.qemu.pid > 0 and (.processes | length) == 2" >/dev/null' "inspect: pids and 2 live processes"
  check '[ "$(stat -c %a "$MCPVM_HOME/vms/basic")" = 700 ] && [ "$(stat -c %a "$MCPVM_HOME/vms/basic/control.sock")" = 600 ] && [ "$(stat -c %a "$MCPVM_HOME/vms/basic/state.json")" = 600 ]' "permissions 0700 dir, 0600 socket/state"
  check '"$mcpvm" logs --console basic >/dev/null && [ -f "$MCPVM_HOME/vms/basic/logs/console.log" ]' "logs --console reads the guest console"
  check '"$mcpvm" logs --runner basic | grep -q "ready"' "logs --runner shows the runner's log"
  check 'grep -Eq "^Seccomp:[[:space:]]+2" "/proc/$(field basic .qemu.pid)/status"' "QEMU runs under its seccomp filter (-sandbox)"
  remember basic
  t0=$(date +%s)
  check '"$mcpvm" stop -t 10 basic >/dev/null' "stop"
  check '[ $(( $(date +%s) - t0 )) -lt 10 ]' "graceful stop did not need the timeout"
  check '[ "$(ls_status basic)" = stopped ]' "ls: stopped"
  check '[ -z "$("$mcpvm" ls --json | jq -r ".[].name")" ]' "ls without -a hides stopped VMs"
  no_leftovers basic
  check '"$mcpvm" start basic | grep -q basic' "start"
  check '[ "$(ls_status basic)" = running ]' "running after start"
  check '[ "$(field basic .endpoint)" = "$url" ]' "the endpoint URL is the same after start"
  new_token=$(cat "$MCPVM_HOME/vms/basic/endpoint-token")
  check '[ ${#new_token} -eq 64 ] && [ "$new_token" != "$token" ]' "start published a new token (the runner's own)"
  check '[ "$(http_status basic "$token")" = 401 ]' "the token of the previous runner is dead"
  check 'mcp_initialize basic "$new_token" | grep -q "\"serverInfo\""' "endpoint answers after start, with the new token"
  remember basic
  check '"$mcpvm" restart basic >/dev/null' "restart"
  check '[ "$(ls_status basic)" = running ]' "running after restart"
  check '[ "$(field basic .runner.pid)" = "${recorded_runner%% *}" ]' "restart rebooted the VM inside the same runner"
  check '[ "$(field basic .qemu.pid) $(field basic .qemu.start_time)" != "$recorded_qemu" ]' "... with a new QEMU"
  # shellcheck disable=SC2086
  check '! alive_identity $recorded_qemu' "the previous QEMU is gone"
  check '[ "$(cat "$MCPVM_HOME/vms/basic/endpoint-token")" = "$new_token" ] && [ "$(field basic .endpoint)" = "$url" ]' "restart keeps the URL and the token"
  check 'mcp_initialize basic "$new_token" | grep -q "\"serverInfo\""' "endpoint answers after restart"
  remember basic
  check '! "$mcpvm" rm basic 2>/dev/null' "rm refuses a running VM"
  check '"$mcpvm" rm -f basic >/dev/null' "rm -f"
  check '[ ! -e "$MCPVM_HOME/vms/basic" ]' "rm -f removed the directory"
  no_leftovers basic
}

scenario_kill_runner() {
  log "== kill -9 of the runner"
  "$mcpvm" run --name kr "${demo[@]}" x >/dev/null 2>&1 || fail "run kr"
  remember kr
  kill -9 "${recorded_runner%% *}"
  sleep 0.5
  s=$(ls_status kr)
  check '[ "$s" = error ] || [ "$s" = unhealthy ]' "ls after kill -9 of the runner: $s"
  no_leftovers kr   # QEMU dies with its runner (PDEATHSIG)
  check '"$mcpvm" stop kr >/dev/null' "stop after the runner died"
  check '[ "$(ls_status kr)" = stopped ]' "stopped"
  check '"$mcpvm" start kr >/dev/null' "start again after the runner died"
  check '[ "$(ls_status kr)" = running ]' "running again"
  remember kr
  check '"$mcpvm" rm -f kr >/dev/null' "rm -f"
  no_leftovers kr
}

scenario_kill_qemu() {
  log "== kill -9 of QEMU (restart no)"
  "$mcpvm" run --name kq "${demo[@]}" x >/dev/null 2>&1 || fail "run kq"
  remember kq
  kill -9 "${recorded_qemu%% *}"
  for _ in $(seq 50); do [ "$(field kq .status)" = error ] && break; sleep 0.2; done
  check '[ "$(ls_status kq)" = error ]' "ls after kill -9 of QEMU: error"
  check '[ -n "$(field kq .message)" ]' "the state says why: $(field kq .message)"
  no_leftovers kq
  check '"$mcpvm" rm kq >/dev/null' "rm (no -f needed)"
}

scenario_kill_qemu_restart() {
  log "== kill -9 of QEMU with --restart always"
  "$mcpvm" run --name kqa --restart always --endpoint-auth none "${demo[@]}" x >/dev/null 2>"$work/kqa.err" ||
    fail "run kqa: $(cat "$work/kqa.err")"
  check 'grep -q "warning: --endpoint-auth none" "$work/kqa.err"' "--endpoint-auth none warns"
  check '[ ! -e "$MCPVM_HOME/vms/kqa/endpoint-token" ] && [ "$(http_status kqa)" = 200 ]' "--endpoint-auth none: no token, open endpoint"
  remember kqa
  first_qemu=$recorded_qemu
  kill -9 "${recorded_qemu%% *}"
  # Every state.json seen meanwhile must be consistent: "running" names a live QEMU of the new run (the
  # runner used to write "running" with no QEMU before "restarting", which ended this wait too early).
  lies=0
  for _ in $(seq 600); do
    now=$(field kqa '"\(.status) \(.qemu.pid) \(.qemu.start_time)"')
    case $now in "running null"*) lies=$((lies + 1)) ;; esac
    [ "${now%% *}" = running ] && [ "${now#* }" != "$first_qemu" ] && [ "${now#* }" != "null null" ] && break
    sleep 0.1
  done
  check '[ $lies -eq 0 ]' "state.json never said running without a QEMU ($lies times)"
  check '[ "$(field kqa .status)" = running ] && [ "$(field kqa .restart_count)" = 1 ]' "restarted once, running ($(field kqa .status), $(field kqa .restart_count))"
  check '[ "$(http_status kqa)" = 200 ]' "endpoint answers after the restart (still without a token)"
  remember kqa
  check '"$mcpvm" rm -f kqa >/dev/null' "rm -f"
  no_leftovers kqa
}

# Waits (up to $2 tenths of a second) until VM $1 has a final status in state.json.
wait_final() {
  for _ in $(seq "$2"); do
    case $(field "$1" .status) in stopped | exited | error) return 0 ;; esac
    sleep 0.1
  done
  return 1
}

scenario_signal_stop() {
  log "== kill -TERM of the runner with --restart always: a final stop, as mcpvm stop"
  "$mcpvm" run --name sig --restart always "${demo[@]}" x >/dev/null 2>&1 || fail "run sig"
  remember sig
  check '[ "$(field sig .restart_count)" = 0 ]' "running, no restart yet"
  t0=$(date +%s.%N)
  kill -TERM "${recorded_runner%% *}"
  wait_final sig 300
  t1=$(date +%s.%N)
  check '[ "$(field sig .status)" = stopped ]' "stopped after SIGTERM to the runner ($(field sig .status))"
  # The demo server does not catch SIGTERM: 143 proves it got the signal through the init (a power-off
  # after the stop timeout would leave no exit code or 137).
  check '[ "$(field sig .exit_code)" = 143 ]' "the server's exit code is recorded: 143 ($(field sig .exit_code))"
  check 'awk "BEGIN{exit !($t1 - $t0 < 10)}"' "graceful: within the stop timeout ($(awk "BEGIN{print $t1 - $t0}") s)"
  no_leftovers sig
  sleep 2  # MCPVM_RESTART_DELAY_MS is 300: a restart would have begun by now
  check '[ "$(field sig .status)" = stopped ] && [ "$(field sig .restart_count)" = 0 ]' "not restarted ($(field sig .status), restart_count $(field sig .restart_count))"
  check '[ "$(ls_status sig)" = stopped ]' "ls: stopped"
  check '[ -z "$(vm_procs sig)" ]' "still no process of the VM"
  check '"$mcpvm" logs --runner sig | grep -q "SIGTERM received: stopping the VM for good"' "the runner log says why"
  check '"$mcpvm" logs --runner sig | tail -1 | grep -q "done: stopped"' "the runner ended (done: stopped)"
  check '"$mcpvm" rm sig >/dev/null' "rm (no -f needed)"

  log "== kill -TERM of the runner while --restart always boots the VM again"
  # The server exits after 6 s; the runner restarts it; the signal lands while the next boot is under way.
  "$mcpvm" run --name sigb --restart always "${shell[@]}" x -- 'timeout -s KILL 6 /usr/local/bin/mcpvm-demo-server; exit 1' \
    >/dev/null 2>&1 || fail "run sigb"
  remember sigb
  seen=""
  for _ in $(seq 600); do
    seen=$(field sigb .status)
    [ "$seen" != running ] && break
    sleep 0.05
  done
  kill -TERM "${recorded_runner%% *}"
  log "signalled while the status was $seen"
  check '[ "$seen" = restarting ] || [ "$seen" = starting ]' "the signal came between two runs ($seen)"
  wait_final sigb 300
  check '[ "$(field sigb .status)" = stopped ]' "stopped ($(field sigb .status))"
  no_leftovers sigb
  sleep 2
  check '[ "$(field sigb .status)" = stopped ] && [ "$(field sigb .restart_count)" = 1 ]' "no further restart ($(field sigb .status), restart_count $(field sigb .restart_count))"
  check '[ -z "$(vm_procs sigb)" ]' "still no process of the VM"
  check '"$mcpvm" rm sigb >/dev/null' "rm"
}

scenario_restart_policy() {
  log "== restart policy on-failure:2 with a crashing server"
  out=$("$mcpvm" run --name crash --restart on-failure:2 --ready-timeout 60 "${shell[@]}" x -- 'echo boom >&2; exit 3' 2>&1)
  check '[ -n "$out" ]' "run reports the failure"
  check 'echo "$out" | grep -q boom' "the failure shows the last log lines"
  check '[ "$(ls_status crash)" = exited ]' "exited after giving up: $(ls_status crash)"
  check '[ "$(field crash .exit_code)" = 3 ]' "exit code 3 recorded"
  check '[ "$(field crash .restart_count)" = 2 ]' "2 restarts ($(field crash .restart_count))"
  check '[ "$("$mcpvm" logs crash | grep -c boom)" = 3 ]' "3 runs in the server log"
  check '"$mcpvm" logs --tail 1 crash | grep -qx boom' "logs --tail 1"
  check '"$mcpvm" rm crash >/dev/null' "rm"
  no_leftovers crash
}

scenario_ready_timeout() {
  log "== readiness failure"
  t0=$(date +%s)
  out=$("$mcpvm" run --name slow --ready-timeout 8 "${shell[@]}" x -- 'echo never-ready >&2; sleep 600' 2>&1)
  rc=$?
  check '[ $rc -ne 0 ]' "run fails"
  check 'echo "$out" | grep -q "not ready within 8 s"' "says why ($out)"
  check 'echo "$out" | grep -q never-ready' "shows the last log lines"
  check '[ "$(ls_status slow)" = error ]' "status error"
  recorded_runner="" recorded_qemu=""
  no_leftovers slow
  check '"$mcpvm" rm slow >/dev/null' "rm"
}

scenario_same_name() {
  log "== two concurrent runs with the same name"
  "$mcpvm" run --name twin "${demo[@]}" x >"$work/twin1" 2>&1 & p1=$!
  "$mcpvm" run --name twin "${demo[@]}" x >"$work/twin2" 2>&1 & p2=$!
  wait $p1; r1=$?; wait $p2; r2=$?
  check '[ $((r1 + r2)) -ne 0 ] && { [ $r1 -eq 0 ] || [ $r2 -eq 0 ]; }' "exactly one wins ($r1, $r2)"
  check 'cat "$work/twin1" "$work/twin2" | grep -q "already in use"' "the loser gets a clear error"
  check '[ "$(ls_status twin)" = running ]' "the winner runs"
  check '! "$mcpvm" run --name "bad/name" "${demo[@]}" x 2>/dev/null' "an invalid name is refused"
  remember twin
  check '"$mcpvm" rm -f twin >/dev/null' "rm -f"
  no_leftovers twin
}

scenario_corrupt_state() {
  log "== corrupt and truncated state"
  "$mcpvm" run --name bad "${demo[@]}" x >/dev/null 2>&1 || fail "run bad"
  remember bad
  "$mcpvm" stop -t 2 bad >/dev/null
  printf '{"name": "bad", "sta' > "$MCPVM_HOME/vms/bad/state.json"
  check '"$mcpvm" ls -a 2>&1 | grep -q "^bad .*error"' "ls shows a corrupt VM as error"
  check '"$mcpvm" inspect bad | jq -e ".note | test(\"rm -f\")" >/dev/null' "inspect says how to recover"
  check '"$mcpvm" rm -f bad >/dev/null' "rm -f works on a corrupt VM"
  mkdir -p "$MCPVM_HOME/vms/empty"
  check '"$mcpvm" ls -a | grep -q "^empty .*error"' "a VM dir without state is listed as error"
  check '"$mcpvm" rm -f empty >/dev/null && [ ! -e "$MCPVM_HOME/vms/empty" ]' "rm -f removes it"
  check '{ "$mcpvm" stop nosuch 2>&1 || true; } | grep -q "no such VM"' "stop of an unknown VM"
}

scenario_rm_on_exit() {
  log "== --rm"
  # Positive control first: the VM really ran (run succeeded, listed, its directory there), then ended.
  "$mcpvm" run --rm --name gone "${demo[@]}" x >/dev/null 2>"$work/gone.err"
  rc=$?
  check '[ $rc -eq 0 ]' "run --rm succeeded (exit $rc: $(head -1 "$work/gone.err"))"
  check '[ "$(ls_status gone)" = running ] && [ -d "$MCPVM_HOME/vms/gone" ]' "the --rm VM runs and has its directory"
  remember gone
  "$mcpvm" stop -t 5 gone >/dev/null 2>&1
  for _ in $(seq 50); do [ -e "$MCPVM_HOME/vms/gone" ] || break; sleep 0.2; done
  check '[ ! -e "$MCPVM_HOME/vms/gone" ]' "--rm removed the VM within 10 s after it ended"
  no_leftovers gone
  log "== --rm of a run that fails (the server exits before it is ready)"
  out=$("$mcpvm" run --rm --name gone2 "${shell[@]}" x -- 'echo gone2-ran >&2; exit 0' 2>&1)
  rc=$?
  check '[ $rc -ne 0 ] && echo "$out" | grep -Eq "gone2.*(did not become ready|ended before it was ready)"' "run fails and says why (exit $rc: $(echo "$out" | head -1))"
  for _ in $(seq 50); do [ -e "$MCPVM_HOME/vms/gone2" ] || break; sleep 0.2; done
  check '[ ! -e "$MCPVM_HOME/vms/gone2" ]' "--rm removed the failed VM within 10 s"
  recorded_runner="" recorded_qemu=""
  no_leftovers gone2
}

# NAME SESSION BODY -> the JSON-RPC answer (plain JSON or the data of an SSE event), with the VM's token.
mcp_post() {
  curl -s --max-time 30 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H @<(printf 'Authorization: Bearer %s' "$(cat "$MCPVM_HOME/vms/$1/endpoint-token")") \
    ${2:+-H "Mcp-Session-Id: $2"} -D "$work/$1.headers" -d "$3" "$(field "$1" .endpoint)" | sed -n 's/^data: //p;/^{/p'
}

scenario_tools() {
  log "== --tools / --tools-override / --audit-args: what clients see and may call, and the audit log"
  echo '{"toolsOverride": {"sysinfo": {"name": "about", "description": "About the guest"}}}' >"$work/override.json"
  check '! "$mcpvm" run --name badtools --tools "add,,echo" "${demo[@]}" x 2>"$work/badtools.err" && grep -q "an empty tool name" "$work/badtools.err" && [ ! -e "$MCPVM_HOME/vms/badtools" ]' \
    "a malformed --tools is refused before any VM exists"
  echo '{"toolsOverride": {"a": {"name": "x"}, "b": {"name": "x"}}}' >"$work/clash.json"
  check '! "$mcpvm" run --name badtools --tools-override "$work/clash.json" "${demo[@]}" x 2>"$work/badtools.err" && grep -q "both renamed to" "$work/badtools.err"' \
    "two tools renamed to one name are refused"
  "$mcpvm" run --name tools --tools add,about --tools-override "$work/override.json" --audit-args "${demo[@]}" x \
    >/dev/null 2>"$work/tools.err" || fail "run tools: $(cat "$work/tools.err")"
  mcp_post tools "" "$initialize_body" >/dev/null
  local session
  session=$(tr -d '\r' <"$work/tools.headers" | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
  local listed
  listed=$(mcp_post tools "$session" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | jq -c '[.result.tools[] | [.name, .description]]')
  check 'echo "$listed" | jq -e "map(.[0]) == [\"add\",\"about\"] and .[1][1] == \"About the guest\"" >/dev/null' \
    "tools/list shows only add and about (sysinfo renamed and redescribed): $listed"
  check 'mcp_post tools "$session" "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"exit\",\"arguments\":{\"code\":3}}}" | jq -e ".error.message == \"Unknown tool: exit\"" >/dev/null' \
    "a call to a tool outside --tools is refused"
  check '[ "$(ls_status tools)" = running ]' "... without reaching the server (it did not exit)"
  check 'mcp_post tools "$session" "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"about\",\"arguments\":{}}}" | jq -e ".result.content[0].text | length > 0" >/dev/null' \
    "the renamed tool answers under its new name"
  check 'mcp_post tools "$session" "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"add\",\"arguments\":{\"a\":20,\"b\":22}}}" | jq -e ".result.structuredContent.sum == 42" >/dev/null' \
    "an allowed tool answers"
  check '"$mcpvm" logs --audit tools | jq -se "map(select(.method == \"tools/call\")) | (.[0].outcome == \"refused\" and .[0].subject == \"exit\" and .[1].subject == \"about\" and .[1].outcome == \"ok\" and .[2].arguments == {\"a\":20,\"b\":22} and .[2].client == \"t\" and (.[2].duration_ms >= 0))" >/dev/null' \
    "logs --audit: one JSON line per request with outcome, subject, client and (--audit-args) arguments"
  check '[ "$(stat -c %a "$MCPVM_HOME/vms/tools/logs/audit.log")" = 600 ]' "the audit log is 0600"
  check '"$mcpvm" inspect tools | jq -e ".config.mcp.tools == [\"about\",\"add\"] and .config.mcp.tools_override.sysinfo.name == \"about\"" >/dev/null' \
    "inspect shows the tool policy"
  remember tools
  check '"$mcpvm" rm -f tools >/dev/null' "rm -f"
  no_leftovers tools
}

scenario_clients() {
  log "== run --register / client register / unregister / rm: clients' own files, byte-preserving"
  local h=$work/clienthome
  mkdir -p "$h/.config/Code/User" "$h/.cursor" "$h/.codex" "$h/.config/goose"
  printf '# codex\nmodel = "o4-mini"\n\n[mcp_servers.github]\ncommand = "npx"\n' >"$h/.codex/config.toml"
  printf 'GOOSE_PROVIDER: openai\nextensions:\n  developer:\n    enabled: true   # mine\n    type: builtin\nGOOSE_MODEL: gpt-4o\n' \
    >"$h/.config/goose/config.yaml"
  cp "$h/.codex/config.toml" "$work/codex.orig"; cp "$h/.config/goose/config.yaml" "$work/goose.orig"
  chmod 600 "$h/.config/goose/config.yaml"
  printf '{\n  "numStartups": 3,\n  "projects": {"/home/me": {"allowedTools": []}}\n}\n' >"$h/.claude.json"
  printf '// mine\n{\n  "servers": {\n    /* kept */\n    "github": {"type": "http", "url": "https://example.invalid/mcp"}\n  }\n}\n' \
    >"$h/.config/Code/User/mcp.json"
  printf '{"mcpServers": {broken' >"$h/.cursor/mcp.json"
  cp "$h/.claude.json" "$work/claude.orig"; cp "$h/.config/Code/User/mcp.json" "$work/vscode.orig"
  chmod 644 "$h/.claude.json" "$h/.config/Code/User/mcp.json"
  HOME=$h "$mcpvm" run --name reg --register claude-code "${demo[@]}" x >/dev/null 2>"$work/reg.err" || fail "run reg: $(cat "$work/reg.err")"
  check 'grep -q "not registered with claude-code: .*readable by other users" "$work/reg.err" && cmp -s "$h/.claude.json" "$work/claude.orig"' \
    "the token is never written into a file other users can read (the VM runs, the file is untouched)"
  chmod 600 "$h/.claude.json" "$h/.config/Code/User/mcp.json" "$h/.cursor/mcp.json"
  check 'HOME=$h "$mcpvm" client register claude-code reg 2>&1 | grep -q "registered reg with"' "client register claude-code"
  check 'jq -e ".mcpServers.reg.type == \"http\" and .numStartups == 3 and .projects[\"/home/me\"] != null" "$h/.claude.json" >/dev/null' \
    "~/.claude.json got the entry and kept the rest"
  check 'cmp -s "$h/.claude.json.mcpvm-backup" "$work/claude.orig" && [ "$(stat -c %a "$h/.claude.json")" = 600 ]' "a backup of the old file; the mode kept"
  local url auth
  url=$(jq -r .mcpServers.reg.url "$h/.claude.json"); auth=$(jq -r .mcpServers.reg.headers.Authorization "$h/.claude.json")
  check 'curl -s --max-time 30 -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" -H @<(printf "Authorization: %s" "$auth") -d "$initialize_body" "$url" | grep -q serverInfo' \
    "the registered entry (URL + header) reaches the server"
  check 'HOME=$h "$mcpvm" client register vscode reg >/dev/null' "client register vscode"
  check 'grep -q "^// mine" "$h/.config/Code/User/mcp.json" && grep -q "/\* kept \*/" "$h/.config/Code/User/mcp.json"' "VS Code's comments are kept"
  check '! HOME=$h "$mcpvm" client register cursor reg 2>"$work/cursor.err" && grep -q "not valid JSON" "$work/cursor.err" && [ "$(cat "$h/.cursor/mcp.json")" = "{\"mcpServers\": {broken" ]' \
    "a file that cannot be parsed is refused and left untouched"
  check 'HOME=$h "$mcpvm" client register codex reg >/dev/null && grep -q "^\[mcp_servers.\"reg\"\]" "$h/.codex/config.toml" && grep -q "^args = \[\"proxy\", \"stdio\", \"reg\"\]" "$h/.codex/config.toml" && head -5 "$h/.codex/config.toml" | cmp -s - "$work/codex.orig"' \
    "codex: a [mcp_servers.\"reg\"] table running mcpvm proxy stdio, appended after the user's bytes"
  check 'HOME=$h "$mcpvm" client register goose reg >/dev/null && grep -q "^  \"reg\":" "$h/.config/goose/config.yaml" && grep -q "Authorization: \"Bearer " "$h/.config/goose/config.yaml" && grep -q "enabled: true   # mine" "$h/.config/goose/config.yaml"' \
    "goose: a streamable_http extension with the token header, the user's comment kept"
  check 'HOME=$h "$mcpvm" client unregister goose reg >/dev/null && cmp -s "$h/.config/goose/config.yaml" "$work/goose.orig" && HOME=$h "$mcpvm" client register goose reg >/dev/null' \
    "goose: unregister gives the user's file back byte for byte"
  check 'HOME=$h "$mcpvm" client register vscode reg >/dev/null && [ "$(jq -c "[.[]]" "$MCPVM_HOME/vms/reg/clients.json")" = "[\"claude-code\",\"vscode\",\"codex\",\"goose\"]" ]' "register is idempotent; clients.json records all four"
  remember reg
  check 'HOME=$h "$mcpvm" rm -f reg >/dev/null' "rm -f"
  check 'cmp -s "$h/.config/Code/User/mcp.json" "$work/vscode.orig"' "rm took the VS Code entry out: the file is byte-identical to the user's"
  check 'jq -e ".mcpServers == {} and .numStartups == 3" "$h/.claude.json" >/dev/null' "rm took the Claude Code entry out"
  check '[ "$(cat "$h/.codex/config.toml")" = "$(cat "$work/codex.orig")" ] && cmp -s "$h/.config/goose/config.yaml" "$work/goose.orig"' \
    "rm took the Codex table and the Goose extension out"
  no_leftovers reg
}

scenario_console_cap() {
  log "== the guest console log is capped and rotated (the runner drains it; QEMU does not write a file)"
  local cap=16384 logs=$MCPVM_HOME/vms/chatty/logs
  # ~100 KiB to the kernel console (6 caps' worth), then the demo server.
  MCPVM_LOG_MAX_BYTES=$cap "$mcpvm" run --name chatty "${shell[@]}" x -- \
    'i=0; while [ $i -lt 1500 ]; do echo "console-line-$i ..................................................."; i=$((i + 1)); done >/dev/console; exec /usr/local/bin/mcpvm-demo-server' \
    >/dev/null 2>&1 || fail "run chatty"
  for _ in $(seq 100); do grep -q console-line-1499 "$logs/console.log" 2>/dev/null && break; sleep 0.1; done
  check '"$mcpvm" logs --console chatty | grep -q "console-line-1499 "' "the newest console lines are kept"
  check '! "$mcpvm" logs --console chatty | grep -q "console-line-0 "' "the oldest were rotated away"
  check '[ -f "$logs/console.log.1" ] && [ -f "$logs/console.log.2" ] && [ ! -e "$logs/console.log.3" ]' "3 generations: $(ls "$logs" | tr '\n' ' ')"
  for f in "$logs"/console.log*; do
    check '[ "$(stat -c %s "$f")" -le $cap ]' "$(basename "$f") is $(stat -c %s "$f") bytes <= $cap"
  done
  check '[ "$(stat -c %a "$logs/console.log")" = 600 ]' "console.log is 0600"
  check '"$mcpvm" inspect chatty | jq -e "(.processes | length) == 2" >/dev/null' "the /proc scan still finds runner and QEMU (QEMU -name DIR/)"
  remember chatty
  check '"$mcpvm" rm -f chatty >/dev/null' "rm -f"
  no_leftovers chatty
}

scenario_network_counters() {
  log "== inspect shows the network counters (allowed/denied per reason) while the VM runs"
  # Two connections the default profile denies: the host's loopback (10.0.2.2) and cloud metadata.
  "$mcpvm" run --name netc "${shell[@]}" x -- \
    'nc -w 2 10.0.2.2 9 </dev/null; nc -w 2 169.254.169.254 80 </dev/null; exec /usr/local/bin/mcpvm-demo-server' \
    >/dev/null 2>&1 || fail "run netc"
  for _ in $(seq 50); do
    "$mcpvm" inspect netc | jq -e '.network.counters.denied.link_local_metadata >= 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  local j
  j=$("$mcpvm" inspect netc)
  check 'jq -e . <<<"$j" >/dev/null' "inspect is valid JSON"
  check 'jq -e ".network.counters.denied.host_loopback >= 1" <<<"$j" >/dev/null' "denied host_loopback counted: $(jq -c .network.counters <<<"$j")"
  check 'jq -e ".network.counters.denied.link_local_metadata >= 1" <<<"$j" >/dev/null' "denied link_local_metadata counted"
  check 'jq -e ".network.counters.allowed.arp >= 1" <<<"$j" >/dev/null' "allowed arp counted (the guest resolved its gateway)"
  check 'jq -e "(.network.counters.allowed.dhcp // 0) == 0" <<<"$j" >/dev/null' "no DHCP: the address came with the VM config"
  check 'jq -e "(.network.counters.denied.ipv6 // 0) == 0" <<<"$j" >/dev/null' "no IPv6 frame from eth0 (disable_ipv6 before link-up)"
  check 'jq -e ".network.summary != null" <<<"$j" >/dev/null' "the policy summary is shown"
  check '"$mcpvm" ls -a --json | jq -e "length == 1" >/dev/null' "ls --json stays valid JSON"
  remember netc
  "$mcpvm" stop -t 5 netc >/dev/null
  check '"$mcpvm" inspect netc | jq -e ".network.counters.denied.host_loopback >= 1" >/dev/null' "the counters stay after stop"
  check '"$mcpvm" rm netc >/dev/null' "rm"
  no_leftovers netc
}

scenario_old_config() {
  log "== a VM created by mcpvm 0.1 (unversioned config.json, JSON bag) starts, stops and is removed"
  # The fixture was written by mcpvm 0.1 for the demo image; point its paths at this machine's files.
  local k=$MCPVM_HOME/kernel/current
  [ -d "$k" ] || k=/var/lib/mcpvm/kernel/current
  local version modules dir=$MCPVM_HOME/vms/old01
  version=$(cat "$k/version")
  modules=$(readlink -f "$k")/lib/modules/$version
  mkdir -p "$dir" && chmod 700 "$MCPVM_HOME" "$MCPVM_HOME/vms" "$dir"
  jq --arg k "$k/vmlinux" --arg m "$modules" --arg v "$version" --arg r "$work/demo.sqfs" \
    '.name = "old01" | .vm.spec.kernel = {kernel: $k, modules_dir: $m, version: $v} | .vm.spec.rootfs = $r
     | .vm.spec.init_binary = "" | .vm.spec.accel = "tcg"' \
    "$src/tests/fixtures/run_config/v1-stdio.json" >"$dir/config.json"
  jq '.name = "old01" | .status = "stopped" | .runner = null | .qemu = null | .endpoint = ""' \
    "$src/tests/fixtures/run_config/v1-state.json" >"$dir/state.json"
  chmod 600 "$dir/config.json" "$dir/state.json"
  check '[ "$(ls_status old01)" = stopped ]' "ls lists the old VM as stopped"
  check '"$mcpvm" inspect old01 | jq -e ".config.schema_version == 2 and .config.mcp.transport == \"stdio\"" >/dev/null' \
    "inspect shows it migrated to the typed config"
  check '"$mcpvm" start old01 | grep -q old01' "start boots it"
  check '[ "$(ls_status old01)" = running ]' "running"
  check 'mcp_initialize old01 | grep -q "\"serverInfo\""' "its endpoint answers initialize (with the token it got)"
  remember old01
  check '"$mcpvm" stop -t 10 old01 >/dev/null && [ "$(ls_status old01)" = stopped ]' "stop"
  check '"$mcpvm" rm old01 >/dev/null && [ ! -e "$dir" ]' "rm"
  no_leftovers old01
}

scenario_foreground() {
  log "== run --foreground: not listed by ls, nothing left after it ends; a kill -9 leftover is swept"
  local fgdir=$MCPVM_HOME/foreground
  "$mcpvm" run --foreground "${shell[@]}" x -- 'echo fg-up; sleep 600' </dev/null >"$work/fg.out" 2>"$work/fg.err" &
  local fg=$!
  for _ in $(seq 1200); do grep -q fg-up "$work/fg.out" 2>/dev/null && break; sleep 0.1; done
  check 'grep -q fg-up "$work/fg.out"' "the foreground VM runs"
  check '[ "$("$mcpvm" ls -a --json | jq length)" = 0 ]' "ls -a --json does not list it"
  check '[ "$("$mcpvm" ls -a | wc -l)" = 1 ]' "ls -a shows only the header"
  check '[ -z "$(ls -A "$MCPVM_HOME/vms" 2>/dev/null)" ]' "nothing under vms/"
  check '[ -d "$fgdir/$fg" ] && [ "$(stat -c %a "$fgdir/$fg")" = 700 ]' "its private dir is foreground/PID (0700)"
  check 'pgrep -f -- "$fgdir/$fg/" >/dev/null' "its QEMU is found by its directory (-name DIR/)"
  kill -9 "$fg"
  wait "$fg" 2>/dev/null
  for _ in $(seq 50); do pgrep -f -- "$fgdir/$fg/" >/dev/null || break; sleep 0.2; done
  check '! pgrep -f -- "$fgdir/$fg/" >/dev/null' "its QEMU died with it"
  check '[ -d "$fgdir/$fg" ]' "kill -9 leaves its dir behind"
  check '[ "$("$mcpvm" ls -a --json | jq length)" = 0 ]' "ls -a still lists nothing"
  touch -d '2 days ago' "$fgdir/$fg"
  mkdir -p "$fgdir/1"  # unlocked but fresh: like a failed run's console log of today
  "$mcpvm" run --foreground "${shell[@]}" x -- 'exit 7' </dev/null >/dev/null 2>&1
  check '[ $? -eq 7 ]' "a second foreground run exits with its server's code"
  check '[ ! -e "$fgdir/$fg" ]' "it swept the day-old leftover"
  check '[ -d "$fgdir/1" ]' "it kept the fresh one"
  check '[ "$(ls -A "$fgdir")" = 1 ]' "its own dir is gone after a normal exit"
  rm -rf "$fgdir/1"
}

# squat PORT OUT SECONDS: another local process trying to take the endpoint's port (SO_REUSEADDR, as a
# squatter would). Bind refused: writes the errno name to OUT and exits 1. Bound: writes BOUND, then for
# SECONDS records the request head of every client that connects (what a client would hand it) and
# answers 200 {}. (A file, so that `python3 "$work/squat.py" ... &` gives the squatter's own pid.)
# squat PORT OUT 0 UNTIL: tries to bind every 20 ms until the file UNTIL exists; writes "TRIES WINS" to OUT.
cat >"$work/squat.py" <<'PY'
import errno, os, socket, sys, time
port, out, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
if len(sys.argv) > 4:
    tries = wins = 0
    while not os.path.exists(sys.argv[4]):
        t = socket.socket()
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tries += 1
        try:
            t.bind(("127.0.0.1", port))
            wins += 1
        except OSError:
            pass
        t.close()
        time.sleep(0.02)
    open(out, "w").write(f"{tries} {wins}\n")
    sys.exit(0)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", port))
except OSError as e:
    open(out, "w").write(errno.errorcode.get(e.errno, str(e.errno)) + "\n")
    sys.exit(1)
s.listen(8)
s.settimeout(0.2)
with open(out, "w") as f:
    f.write("BOUND\n")
    f.flush()
    end = time.time() + secs
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    break
                data += d
        except socket.timeout:
            pass
        f.write(data.decode("latin1"))
        f.flush()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        c.close()
PY
squat() { python3 "$work/squat.py" "$@"; }

# The inode of the socket listening on 127.0.0.1:PORT (/proc/net/tcp), "" if none: the same inode before
# and after a reboot proves it is the same listener, never closed in between.
listener_inode() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v a="0100007F:$hex" '$2 == a && $4 == "0A" {print $10}' /proc/net/tcp
}

scenario_endpoint_window() {
  log "== the endpoint's port is never free while the runner lives; stop -> start gives a squatter only a dead token"
  MCPVM_RESTART_DELAY_MS=6000 "$mcpvm" run --name win --restart always "${demo[@]}" x >/dev/null 2>"$work/win.err" ||
    fail "run win: $(cat "$work/win.err")"
  local url port token inode session
  url=$(field win .endpoint); port=${url##*:}; port=${port%%/*}
  token=$(cat "$MCPVM_HOME/vms/win/endpoint-token")
  inode=$(listener_inode "$port")
  check '[ -n "$inode" ]' "the endpoint listens on $port (socket inode $inode)"
  check '! squat "$port" "$work/squat0" 1 && grep -qx EADDRINUSE "$work/squat0"' "a squatter cannot bind while the VM runs (EADDRINUSE)"
  mcp_post win "" "$initialize_body" >/dev/null
  session=$(tr -d '\r' <"$work/win.headers" | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
  check '[ -n "$session" ] && mcp_post win "$session" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":2}}}" | jq -e ".result.structuredContent.sum == 3" >/dev/null' \
    "a session calls a tool before the reboot"

  log "-- restart policy: QEMU killed, the runner waits 6 s before booting again"
  remember win
  kill -9 "${recorded_qemu%% *}"
  for _ in $(seq 100); do [ "$(field win .status)" = restarting ] && break; sleep 0.05; done
  check '[ "$(field win .status)" = restarting ]' "restarting (in the restart delay)"
  check '! squat "$port" "$work/squat1" 1 && grep -qx EADDRINUSE "$work/squat1"' "during the restart delay a squatter's bind fails (EADDRINUSE)"
  check '[ "$(listener_inode "$port")" = "$inode" ]' "the same listener during the delay"
  check '[ "$(http_status win)" = 401 ] && [ "$(http_status win "$(printf %064d 0)")" = 401 ]' "without the token: 401, also while the VM is down"
  local down
  down=$(curl -s -D - --max-time 10 -H 'Content-Type: application/json' -H @<(printf 'Authorization: Bearer %s' "$token") -d "$initialize_body" "$url")
  check 'echo "$down" | head -1 | grep -q " 503" && echo "$down" | grep -qi "^Retry-After: 2" && echo "$down" | tail -1 | jq -e ".error.code == -32000" >/dev/null' \
    "with the token while down: 503, Retry-After, a JSON-RPC error ($(echo "$down" | head -1 | tr -d '\r'))"
  for _ in $(seq 1200); do [ "$(field win .status)" = running ] && [ "$(field win .restart_count)" = 1 ] && break; sleep 0.1; done
  check '[ "$(field win .status)" = running ] && [ "$(field win .restart_count)" = 1 ]' "running again after one restart"
  check '[ "$(listener_inode "$port")" = "$inode" ] && [ "$(field win .endpoint)" = "$url" ]' "the same listener and URL after the reboot"
  check 'mcp_post win "$session" "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}" >/dev/null; grep -q "^HTTP/1.1 404" "$work/win.headers"' \
    "the previous boot's session gets 404 (the client must initialize again)"
  mcp_post win "" "$initialize_body" >/dev/null
  session=$(tr -d '\r' <"$work/win.headers" | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
  check '[ -n "$session" ] && mcp_post win "$session" "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"add\",\"arguments\":{\"a\":40,\"b\":2}}}" | jq -e ".result.structuredContent.sum == 42" >/dev/null' \
    "re-initialized, the client calls a tool of the new boot"

  log "-- mcpvm restart: rebooted inside the runner while a squatter keeps trying"
  python3 "$work/squat.py" "$port" "$work/squat2" 0 "$work/restart.done" & local squatter=$!
  "$mcpvm" restart -t 5 win >/dev/null 2>"$work/restart.err"; local rc=$?
  touch "$work/restart.done"; wait $squatter
  read -r tries won <"$work/squat2"
  check '[ $rc -eq 0 ]' "restart (exit $rc)"
  check '[ "$tries" -ge 20 ] && [ "$won" -eq 0 ]' "$tries binds tried during the restart, $won succeeded"
  check '[ "$(listener_inode "$port")" = "$inode" ] && [ "$(cat "$MCPVM_HOME/vms/win/endpoint-token")" = "$token" ]' "same listener and token after restart"

  log "-- stop -> start: the port is free while no runner lives; a squatter takes it"
  check '"$mcpvm" stop -t 5 win >/dev/null' "stop"
  python3 "$work/squat.py" "$port" "$work/squat3" 25 & local squatter3=$!
  for _ in $(seq 50); do grep -q BOUND "$work/squat3" 2>/dev/null && break; sleep 0.1; done
  check 'grep -q BOUND "$work/squat3"' "positive control: with no runner, another process can bind the port"
  curl -s -o /dev/null --max-time 5 -H 'Content-Type: application/json' -H @<(printf 'Authorization: Bearer %s' "$token") -d "$initialize_body" "$url"
  check 'grep -q "Authorization: Bearer $token" "$work/squat3"' "a client configured with the VM's URL hands the squatter its token"
  local err
  err=$("$mcpvm" start win 2>&1 >/dev/null); rc=$?
  check '[ $rc -ne 0 ] && echo "$err" | grep -q "port $port of win.* is taken by another process"' "start fails loudly while the port is taken: $(echo "$err" | head -1)"
  check '[ "$(field win .endpoint)" = "$url" ] && [ "$(ls_status win)" = error ]' "... the VM keeps its URL and is not started"
  kill "$squatter3" 2>/dev/null; wait "$squatter3" 2>/dev/null
  check '"$mcpvm" start win >/dev/null' "start once the port is free"
  local fresh
  fresh=$(cat "$MCPVM_HOME/vms/win/endpoint-token")
  check '[ "$(field win .endpoint)" = "$url" ] && [ "$fresh" != "$token" ] && [ ${#fresh} -eq 64 ]' "same URL, a new token"
  check '[ "$(http_status win "$token")" = 401 ]' "the token the squatter saw is dead"
  check '[ "$(http_status win "$fresh")" = 200 ]' "the new token works"

  log "-- start --new-port when the port stays taken"
  check '"$mcpvm" stop -t 5 win >/dev/null' "stop"
  python3 "$work/squat.py" "$port" "$work/squat4" 120 & local squatter4=$!
  for _ in $(seq 50); do grep -q BOUND "$work/squat4" 2>/dev/null && break; sleep 0.1; done
  check '"$mcpvm" start --new-port win >/dev/null' "start --new-port"
  check '[ -n "$(field win .endpoint)" ] && [ "$(field win .endpoint)" != "$url" ] && [ "$(http_status win "$(cat "$MCPVM_HOME/vms/win/endpoint-token")")" = 200 ]' "a new URL that answers: $(field win .endpoint)"
  kill "$squatter4" 2>/dev/null; wait "$squatter4" 2>/dev/null
  remember win
  check '"$mcpvm" rm -f win >/dev/null' "rm -f"
  no_leftovers win
}

# Also run by ctest, as runner_lifecycle_logs_net (runner.cmake): console_cap network_counters foreground old_config
all=(basic kill_runner kill_qemu kill_qemu_restart signal_stop restart_policy ready_timeout same_name corrupt_state rm_on_exit)
for s in "${@:-${all[@]}}"; do "scenario_$s"; done
if [ $failures -ne 0 ]; then
  log "$failures check(s) failed"
  exit 1
fi
log "all lifecycle checks passed"
