#!/usr/bin/env bash
# `mcpvm exec` under TCG (issue 5): exit codes (0, 3, signal), stdout/stderr kept apart, -i with a 1 MiB
# binary payload and EOF, -t on a real pty (tty name, window size, resize, terminal restored), two
# concurrent sessions, signals, background processes that outlive the command (docker semantics), env/user/workdir layering, command not found (127), a stopped VM and an
# unknown VM, and no process left behind after `rm -f` with a session open. One VM for most cases.
#
# usage: exec_test.sh BUILD_DIR     (needs the guest kernel: scripts/fetch-kernel.sh)
set -uo pipefail
build=$(cd "${1:?usage: exec_test.sh BUILD_DIR}" && pwd)
src=${MCPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/integration
source "$here/vm_test_lib.sh"
vm_test_setup ex

# --- fixture (as runner_lifecycle.sh): busybox + the demo MCP server, user app, an image env var -------
make_demo_squashfs
cat > "$work/demo.json" <<'J'
{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "Env": ["PATH=/usr/local/bin:/bin", "IMAGE_VAR=from-image", "SHADOWED=image"],
 "User": "app", "WorkingDir": "/home/app"}
J
demo=(--rootfs "$work/demo.sqfs" --image-config "$work/demo.json")

# Live `mcpvm exec` processes of this test (their command line names our VM).
exec_procs() { pgrep -f -- "$mcpvm exec .*$1 --" || true; }

t_start=$(date +%s)
log "== boot"
"$mcpvm" run --name ex -e RUN_VAR=from-run -e SHADOWED=run "${demo[@]}" image-unused >/dev/null 2>"$work/run.err" \
  || { cat "$work/run.err"; "$mcpvm" logs --runner ex; exit 1; }
log "VM ex running after $(( $(date +%s) - t_start )) s"
x() { "$mcpvm" exec "$@"; }

log "== exit codes"
x ex -- true; check '[ $? -eq 0 ]' "exit 0"
x ex -- sh -c 'exit 3'; check '[ $? -eq 3 ]' "exit 3 propagated"
x ex -- sh -c 'kill -TERM $$'; rc=$?; check '[ $rc -eq 143 ]' "killed by SIGTERM: 128+15 (got $rc)"

log "== stdout / stderr"
x ex -- sh -c 'echo to-out; echo to-err >&2; echo more-out' >"$work/o" 2>"$work/e"
check '[ "$(cat "$work/o")" = "$(printf "to-out\nmore-out")" ]' "stdout has only stdout ($(tr '\n' '|' < "$work/o"))"
check '[ "$(cat "$work/e")" = to-err ]' "stderr has only stderr ($(tr '\n' '|' < "$work/e"))"

log "== stdin"
head -c 1048576 /dev/urandom > "$work/in.bin"
t0=$(date +%s.%N)
x -i ex -- cat < "$work/in.bin" > "$work/out.bin"; rc=$?
t1=$(date +%s.%N)
check '[ $rc -eq 0 ] && cmp -s "$work/in.bin" "$work/out.bin"' "exec -i cat: 1 MiB binary byte-exact ($(stat -c %s "$work/out.bin") bytes, $(awk "BEGIN{print $t1 - $t0}") s)"
check '[ "$(printf abc | x -i ex -- wc -c | tr -d " ")" = 3 ]' "EOF on stdin ends the process's stdin"
check '[ "$(x ex -- cat < "$work/in.bin" | wc -c)" -eq 0 ]' "without -i the process's stdin is empty"
check '[ "$(head -c 4194304 /dev/zero | x -i ex -- sh -c "exec 0<&-; echo closed" )" = closed ]' "a process closing its stdin does not stall the session"

log "== tty"
out=$(python3 "$here/exec_pty.py" 33 101 0 0 0 -- "$mcpvm" exec -t ex -- sh -c 'tty; stty size; echo "TERM=$TERM"')
check 'echo "$out" | grep -qx "/dev/pts/[0-9]*"' "tty is a pty ($(echo "$out" | head -1))"
check 'echo "$out" | grep -qx "33 101"' "stty size reflects rows/cols"
check 'echo "$out" | grep -qx "TERM=xterm"' "TERM set for a tty session"
check 'echo "$out" | grep -qx "EXIT 0"' "tty session exit 0"
check 'echo "$out" | grep -qx "TERMIOS restored"' "the terminal's settings are restored"
out=$(python3 "$here/exec_pty.py" 24 80 1.0 50 132 -- "$mcpvm" exec -t ex -- sh -c 'sleep 3; stty size; exit 5')
check 'echo "$out" | grep -qx "50 132"' "SIGWINCH is forwarded as a resize ($(echo "$out" | tr '\n' '|'))"
check 'echo "$out" | grep -qx "EXIT 5" && echo "$out" | grep -qx "TERMIOS restored"' "tty exit 5 and terminal restored"
out=$(EXEC_PTY_INPUT=$'hello\r' python3 "$here/exec_pty.py" 24 80 0 0 0 -- "$mcpvm" exec -it ex -- sh -c 'read line; echo "got [$line]"')
check 'echo "$out" | grep -qx "got \[hello\]"' "-it: typed input reaches the process through the pty ($(echo "$out" | tr '\n' '|'))"
out=$(EXEC_PTY_INPUT=$'\x03' python3 "$here/exec_pty.py" 24 80 0 0 0 -- "$mcpvm" exec -it ex -- sleep 30)
check 'echo "$out" | grep -qx "DURING raw"' "-t puts the local terminal in raw mode while the session runs ($(echo "$out" | tr '\n' '|'))"
check 'echo "$out" | grep -qx "EXIT 130" && echo "$out" | grep -qx "TERMIOS restored"' "-t: Ctrl-C is delivered by the guest's pty: exit 130, terminal restored"
# Positive control for the raw-mode check: without -t the terminal stays as it was (Ctrl-C is the local
# kernel's SIGINT, forwarded).
out=$(EXEC_PTY_INPUT=$'\x03' python3 "$here/exec_pty.py" 24 80 0 0 0 -- "$mcpvm" exec -i ex -- sleep 30)
check 'echo "$out" | grep -qx "DURING cooked" && echo "$out" | grep -qx "EXIT 130"' "-i without -t leaves the terminal cooked; Ctrl-C still ends it with 130 ($(echo "$out" | tr '\n' '|'))"

log "== concurrency"
t0=$(date +%s.%N)
x ex -- sh -c 'sleep 3; echo A' >"$work/a" & pa=$!
x ex -- sh -c 'sleep 3; echo B' >"$work/b" & pb=$!
wait $pa; ra=$?; wait $pb; rb=$?
t1=$(date +%s.%N)
check '[ $ra -eq 0 ] && [ $rb -eq 0 ] && [ "$(cat "$work/a")" = A ] && [ "$(cat "$work/b")" = B ]' "two concurrent execs, each its own output"
check 'awk "BEGIN{exit !($t1 - $t0 < 5.5)}"' "they ran at the same time ($(awk "BEGIN{print $t1 - $t0}") s for two 3 s sleeps)"

log "== signals"
"$mcpvm" exec ex -- sleep 30 & p=$!  # not via x(): $! would be a subshell
sleep 2; kill -INT $p; wait $p; rc=$?
check '[ $rc -eq 130 ]' "SIGINT forwarded without -t: exit 130 (got $rc)"

log "== what a command leaves running outlives it (docker exec)"
gps() { x ex -- ps -o stat,args; }  # the guest's processes: state and command line
# timed_exec ARGS...: `mcpvm exec ex ARGS` bounded at 30 s; its stdout in $out, exit code in $rc, wall
# time in $secs.
timed_exec() {
  local t0
  t0=$(date +%s.%N)
  out=$(timeout 30 "$mcpvm" exec ex "$@"); rc=$?
  secs=$(awk "BEGIN{print $(date +%s.%N) - $t0}")
}
faster_than() { awk "BEGIN{exit !($secs < $1)}"; }
timed_exec -- sh -c 'sleep 301 >/dev/null 2>&1 & echo started'
check '[ $rc -eq 0 ] && [ "$out" = started ]' "a background start returns exit 0 and its output (rc $rc, [$out])"
check 'faster_than 5' "promptly ($secs s)"
check 'gps | grep -q "sleep 301$"' "the background sleep still runs in the guest"
# The leftover keeps the command's stdout and stderr open: the exit comes once the command's own output
# is through plus a 1 s grace, not when the pipe closes (in 302 s).
timed_exec -- sh -c 'sleep 302 & echo x; exit 4'
check '[ $rc -eq 4 ] && [ "$out" = x ]' "a leftover holding stdout: the command's exit code and output (rc $rc, [$out])"
check 'faster_than 10' "returns although the pipe stays open ($secs s)"
check 'gps | grep -q "sleep 302$"' "that leftover still runs too"
# A leftover that never stops writing to the pipe: bounded as well, and it lives on (its output is read
# and dropped in the guest: no SIGPIPE, no full pipe).
timed_exec -- sh -c "sh -c 'while :; do echo tick; sleep 0.2; done' ticker &"
check '[ $rc -eq 0 ] && faster_than 10' "a chatty leftover does not hold the session open (rc $rc, $secs s, $(grep -c tick <<<"$out") ticks forwarded)"
sleep 2
check 'gps | grep -q "ticker$"' "the chatty leftover is alive after writing to its orphaned stdout"
x ex -- sh -c 'sleep 1 & exit 0'
sleep 2
zombies=$(gps | awk '$1 ~ /^Z/')
check '[ -z "$zombies" ]' "leftovers that ended were reaped by the init (no zombie: $zombies)"
# The host going away still ends a live command with its whole process group.
"$mcpvm" exec ex -- sh -c 'sleep 303 & sleep 304' & p=$!
for _ in $(seq 50); do gps | grep -q "sleep 304$" && break; sleep 0.2; done
check 'gps | grep -q "sleep 303$" && gps | grep -q "sleep 304$"' "the command and its background child started (else the -9 check below proves nothing)"
kill -9 $p; wait $p 2>/dev/null
for _ in $(seq 20); do procs=$(gps); echo "$procs" | grep -q "sleep 30[34]$" || break; sleep 0.5; done
check '! echo "$procs" | grep -q "sleep 30[34]$"' "a client killed with -9 ends the live command and what it started in the background"
# With -t the command is the session leader of the pty: when it exits the kernel hangs up its terminal
# and sends SIGHUP to the foreground group, which a non-interactive shell's background jobs are in.
out=$(python3 "$here/exec_pty.py" 24 80 0 0 0 -- "$mcpvm" exec -t ex -- sh -c 'sleep 305 & echo x')
check 'echo "$out" | grep -qx "EXIT 0"' "-t with a background job: exit 0 ($(echo "$out" | tr '\n' '|'))"
sleep 1
check '! gps | grep -q "sleep 305$"' "-t: the background job got the terminal's SIGHUP"
x ex -- killall sleep sh 2>/dev/null  # the leftovers above (the loop's sh is "ticker")

log "== a client that stops reading"
runner_pid=$(jq -r .runner.pid "$MCPVM_HOME/vms/ex/state.json")
rss_before=$(ps -o rss= -p "$runner_pid")
"$mcpvm" exec ex -- yes >/dev/null & p=$!
sleep 1; kill -STOP $p; sleep 4   # its window fills: the guest stops reading yes's stdout
check '[ "$(timeout 20 "$mcpvm" exec ex -- echo alive)" = alive ]' "another session still works"
url=$(jq -r .endpoint "$MCPVM_HOME/vms/ex/state.json")
check 'curl -s --max-time 20 -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" -H @<(printf "Authorization: Bearer %s" "$(cat "$MCPVM_HOME/vms/ex/endpoint-token")") -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-03-26\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}" "$url" | grep -q serverInfo' "the MCP server's channels still work"
runner_rss=$(ps -o rss= -p "$runner_pid")
# yes writes far faster than 4 MiB/s: without the window the runner would buffer tens of MiB by now.
check '[ $((runner_rss - rss_before)) -lt 16384 ]' "the runner's memory stays bounded while a client stalls (RSS ${rss_before} -> ${runner_rss} KiB)"
check 'x ex -- ps -o comm | grep -qx yes' "the stalled session's process is alive in the guest"
kill -9 $p; wait $p 2>/dev/null
for _ in $(seq 20); do procs=$(x ex -- ps -o comm); echo "$procs" | grep -qx yes || break; sleep 0.5; done
check 'echo "$procs" | grep -q "^mcpvm-demo" && ! echo "$procs" | grep -qx yes' "the process of a client killed with -9 is gone in the guest ($(echo "$procs" | grep -v "^k\|^rcu\|^irq" | tr "\n" " "))"

log "== throughput and latency"
t0=$(date +%s.%N); x ex -- true; t1=$(date +%s.%N)
log "exec true: $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}") s"
t0=$(date +%s.%N); n=$(x ex -- head -c 16777216 /dev/zero | wc -c); t1=$(date +%s.%N)
check '[ "$n" -eq 16777216 ]' "16 MiB of stdout arrive complete"
log "guest -> host stdout: $(awk "BEGIN{printf \"%.1f\", 16 / ($t1 - $t0)}") MiB/s"
head -c 16777216 /dev/zero > "$work/z"
t0=$(date +%s.%N); n=$(x -i ex -- wc -c < "$work/z" | tr -d " "); t1=$(date +%s.%N)
check '[ "$n" -eq 16777216 ]' "16 MiB of stdin arrive complete"
log "host -> guest stdin: $(awk "BEGIN{printf \"%.1f\", 16 / ($t1 - $t0)}") MiB/s"

log "== env, user, workdir"
env_out=$(x -e EXEC_VAR=from-exec -e SHADOWED=exec ex -- env)
check 'echo "$env_out" | grep -qx "IMAGE_VAR=from-image"' "image Env present"
check 'echo "$env_out" | grep -qx "RUN_VAR=from-run"' "run -e present"
check 'echo "$env_out" | grep -qx "EXEC_VAR=from-exec"' "exec -e present"
check 'echo "$env_out" | grep -qx "SHADOWED=exec"' "exec -e overrides run -e and image Env"
check '[ "$(x ex -- id -u)" = 1000 ] && [ "$(x ex -- pwd)" = /home/app ]' "image User and WorkingDir by default"
check '[ "$(x -u root -w /tmp ex -- sh -c "id -u; pwd" | tr "\n" " ")" = "0 /tmp " ]' "-u and -w override them"
check 'x ex -- test -x /usr/local/bin/mcpvm-demo-server' "runs in the image's root (the server binary is there)"

log "== errors"
x ex -- no-such-command 2>"$work/nf"; rc=$?
check '[ $rc -eq 127 ]' "command not found: 127 (got $rc)"
check 'grep -q "no-such-command.*executable file not found in \$PATH" "$work/nf"' "docker-like message ($(cat "$work/nf"))"
x ex -- /etc/passwd 2>/dev/null; rc=$?
check '[ $rc -eq 126 ]' "not executable: 126 (got $rc)"
x nope -- true 2>"$work/nv"; rc=$?
check '[ $rc -ne 0 ] && grep -q "no such VM: nope" "$work/nv"' "unknown VM: clear error ($(cat "$work/nv"))"
check '[ -z "$(exec_procs ex)" ]' "no exec client left running"

log "== 2,000 control calls (half of them malformed) and 300 execs: the runner's fds and threads stay flat"
runner_pid=$(jq -r .runner.pid "$MCPVM_HOME/vms/ex/state.json")
count() { find "/proc/$runner_pid/$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
x ex -- true  # one exec first: what the first one allocates for good is not a leak
fds0=$(count fd) threads0=$(count task)
python3 - "$MCPVM_HOME/vms/ex/control.sock" <<'PY' >"$work/soak" 2>&1
import json, socket, sys
answered = bad = 0
for i in range(2000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(b'{"op":"status"}\n' if i % 2 else b'{"op":1}\n')
    reply = json.loads(s.makefile().readline())
    answered += reply["ok"] is True
    bad += reply["ok"] is False
    s.close()
print(answered, bad)
PY
check '[ "$(cat "$work/soak")" = "1000 1000" ]' "every call answered, the malformed ones with an error ($(tail -1 "$work/soak"))"
for _ in $(seq 300); do x ex -- true || break; done
sleep 1  # the last connection's thread is joined at the next accept or within a moment of closing
check '[ "$(count fd)" -le $((fds0 + 2)) ]' "runner fds flat: $fds0 -> $(count fd)"
check '[ "$(count task)" -le $((threads0 + 2)) ]' "runner threads flat: $threads0 -> $(count task)"
check '[ "$(jq -r .status "$MCPVM_HOME/vms/ex/state.json")" = running ]' "the VM still runs"

log "== stopped VM"
"$mcpvm" stop -t 5 ex >/dev/null
x ex -- true 2>"$work/st"; rc=$?
check '[ $rc -ne 0 ] && grep -q "VM ex is not running (status: stopped)" "$work/st"' "exec on a stopped VM: clear error ($(cat "$work/st"))"

log "== rm -f with a session open"
"$mcpvm" start ex >/dev/null || fail "start ex"
"$mcpvm" exec ex -- sleep 300 >/dev/null 2>"$work/rm.err" & p=$!
sleep 2
check 'kill -0 $p 2>/dev/null' "the long exec is running"
"$mcpvm" rm -f ex >/dev/null
for _ in $(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done
check '! kill -0 $p 2>/dev/null' "the exec client ended when the VM was removed ($(cat "$work/rm.err"))"
wait $p 2>/dev/null
check '[ -z "$(exec_procs ex)" ]' "no exec client left"
check '[ -z "$(pgrep -f -- "$MCPVM_HOME/vms/ex")" ]' "no runner or QEMU of the VM left ($(pgrep -a -f -- "$MCPVM_HOME/vms/ex"))"

log "total $(( $(date +%s) - t_start )) s, $failures failure(s)"
[ $failures -eq 0 ]
