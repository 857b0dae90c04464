#!/usr/bin/env bash
# Secrets end to end under TCG (issue 15): a random value set with `mcpvm secret set` and a second one from
# the environment provider reach the server's environment through `run --secret` (compared by sha256
# computed in the guest and on the host, so the value is in no argv), and nowhere else: not in any file
# under $MCPVM_HOME, not in the cmdline or environ of the runner or QEMU (after run, restart, stop and rm),
# not in the guest's files; `inspect` shows references only; exec sees them only with --secret-env; a
# secret removed before `start`, or missing at `run`, fails before any boot, naming it.
#
# usage: secrets_test.sh BUILD_DIR     (needs the guest kernel: scripts/fetch-kernel.sh)
set -uo pipefail
build=$(cd "${1:?usage: secrets_test.sh BUILD_DIR}" && pwd)
src=${MCPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/integration
source "$here/vm_test_lib.sh"
vm_test_setup sec

make_demo_squashfs
cat > "$work/demo.json" <<'J'
{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "Env": ["PATH=/usr/local/bin:/bin", "MY_TOKEN=from-image"]}
J
demo=(--rootfs "$work/demo.sqfs" --image-config "$work/demo.json")
export MCPVM_SECRETS_PASSPHRASE="pass-$RANDOM-$RANDOM"
value="sv$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
env_value="ev$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
field() { jq -r "$2" "$MCPVM_HOME/vms/$1/state.json" 2>/dev/null; }

# No trace of either value in any file under $MCPVM_HOME, or in the cmdline/environ of any process of
# this test's VMs (runner, QEMU). A non-dumpable runner's environ is unreadable to other users: as root
# we read it; otherwise unreadable counts as protected.
scan_no_trace() {
  local when=$1 hits
  hits=$(grep -r -l -a -F -e "$value" -e "$env_value" "$MCPVM_HOME" 2>/dev/null)
  check '[ -z "$hits" ]' "$when: no file under \$MCPVM_HOME holds a value (${hits:-none})"
  local f pid exe procs=0 leaked=""
  for f in $(grep -l -s -a -F -- "$MCPVM_HOME/vms/" /proc/[0-9]*/cmdline); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
    case "$exe" in */mcpvm | *qemu-system*) ;; *) continue ;; esac  # the runner and QEMU (not this grep)
    procs=$((procs + 1))
    for part in cmdline environ; do
      if grep -q -a -F -e "$value" -e "$env_value" -e "MCPVM_SECRETS_PASSPHRASE" -e "MCPVM_SECRET_" \
           "/proc/$pid/$part" 2>/dev/null; then
        leaked="$leaked $pid/$part"
      fi
    done
  done
  check '[ -z "$leaked" ]' "$when: no value or secret variable in the cmdline/environ of $procs VM processes (${leaked:-none})"
  vm_procs=$procs
}

# sha256 of the guest server's MY_TOKEN / OTHER_TOKEN, read from its /proc/PID/environ inside the guest.
server_sha() {
  "$mcpvm" exec "$1" -- sh -c 'for p in /proc/[0-9]*; do
      [ "$(readlink $p/exe)" = /usr/local/bin/mcpvm-demo-server ] || continue
      tr "\0" "\n" < $p/environ | sed -n "s/^'"$2"'=//p" | tr -d "\n" | sha256sum | cut -d" " -f1; break; done'
}

log "== secret set / ls"
printf %s "$value" | "$mcpvm" secret set x; check '[ $? -eq 0 ]' "secret set x (value on stdin)"
check '[ "$("$mcpvm" secret ls)" = x ]' "secret ls lists the name"
check '[ "$("$mcpvm" secret ls --json | jq -c .)" = "[\"x\"]" ]' "secret ls --json"
check '! grep -q -a -F "$value" "$MCPVM_HOME/secrets/store"' "the store file does not hold the value in clear"
check '[ "$(stat -c %a "$MCPVM_HOME/secrets/store")" = 600 ] && [ "$(stat -c %a "$MCPVM_HOME/secrets")" = 700 ]' "store 0600 in a 0700 directory"
err=$(MCPVM_SECRETS_PASSPHRASE=wrong "$mcpvm" secret ls 2>&1 </dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "wrong passphrase"' "a wrong passphrase is a clear error ($err)"
err=$(env -u MCPVM_SECRETS_PASSPHRASE setsid "$mcpvm" secret ls 2>&1 </dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "set MCPVM_SECRETS_PASSPHRASE"' "no passphrase and no terminal: says what to set ($err)"

log "== passphrase prompt on a terminal, then the kernel keyring's cached key"
out=$(EXEC_PTY_INPUT="$MCPVM_SECRETS_PASSPHRASE"$'\r' env -u MCPVM_SECRETS_PASSPHRASE \
  python3 "$here/exec_pty.py" 24 80 0 0 0 -- "$mcpvm" secret ls)
check 'echo "$out" | grep -q "Passphrase of the mcpvm secret store:" && echo "$out" | grep -qx x && echo "$out" | grep -qx "EXIT 0"' "a hidden prompt on a terminal unlocks the store ($(echo "$out" | tr '\n' '|'))"
check '! echo "$out" | grep -q -F "$MCPVM_SECRETS_PASSPHRASE"' "the typed passphrase is not echoed"
err=$(env -u MCPVM_SECRETS_PASSPHRASE setsid "$mcpvm" secret ls 2>&1 </dev/null)
check '[ "$err" = x ]' "without a terminal the key cached in the kernel keyring unlocks it ($err)"

log "== missing secret at run: fails before boot"
err=$("$mcpvm" run --name nosuch --secret nope,target=T "${demo[@]}" image-unused 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "secret nope: not found" && echo "$err" | grep -q MCPVM_SECRET_nope' "run fails naming the secret and the providers ($err)"
check '[ ! -e "$MCPVM_HOME/vms/nosuch" ]' "no VM was created"

log "== run --secret"
t0=$(date +%s)
MCPVM_SECRET_envsec="$env_value" "$mcpvm" run --name sec --secret x,target=MY_TOKEN \
  --secret envsec,target=OTHER_TOKEN -e MY_TOKEN=from-run "${demo[@]}" image-unused >/dev/null 2>"$work/run.err" \
  || { cat "$work/run.err"; "$mcpvm" logs --runner sec; exit 1; }
log "VM sec running after $(( $(date +%s) - t0 )) s"
check 'grep -q "hint: -e MY_TOKEN looks like a credential" "$work/run.err"' "-e MY_TOKEN=... prints the --secret hint"
check '[ "$(server_sha sec MY_TOKEN)" = "$(sha "$value")" ]' "the server's MY_TOKEN is the stored secret (it wins over -e and the image)"
check '[ "$(server_sha sec OTHER_TOKEN)" = "$(sha "$env_value")" ]' "the server's OTHER_TOKEN comes from MCPVM_SECRET_envsec"
scan_no_trace "after run"
check '[ $vm_procs -eq 2 ]' "the scan read the runner and QEMU ($vm_procs processes)"
insp=$("$mcpvm" inspect sec)
check 'echo "$insp" | jq -e ".config.secrets == [{\"name\":\"x\",\"target\":\"MY_TOKEN\"},{\"name\":\"envsec\",\"target\":\"OTHER_TOKEN\"}]" >/dev/null' "inspect shows the references"
check '! echo "$insp" | grep -q -F -e "$value" -e "$env_value"' "inspect shows no value"
check '! "$mcpvm" ls --json | grep -q -F -e "$value" -e "$env_value"' "ls --json shows no value"

log "== exec"
check '[ "$("$mcpvm" exec sec -- sh -c "echo \$MY_TOKEN")" = from-run ] && [ -z "$("$mcpvm" exec sec -- sh -c "echo \$OTHER_TOKEN")" ]' "exec without --secret-env does not see the secrets"
check '[ "$("$mcpvm" exec --secret-env sec -- sh -c "printf %s \"\$MY_TOKEN\" | sha256sum | cut -d\" \" -f1")" = "$(sha "$value")" ]' "exec --secret-env sees them"
# The values go to the guest on stdin (no argv, no file): grep reads them as its patterns (the guest has
# no /dev/stdin link).
found=$(printf '%s\n%s\n' "$value" "$env_value" | "$mcpvm" exec -i sec -- sh -c \
  'grep -r -l -F -f /proc/self/fd/0 $(ls -d /* | grep -v -x -e /proc -e /sys -e /dev) 2>/dev/null; true')
check '[ -z "$found" ]' "no file in the guest holds a value (${found:-none})"
control="ctl$RANDOM$RANDOM"
printf %s "$control" | "$mcpvm" exec -i sec -- sh -c 'cat > /tmp/control-file'
found=$(printf '%s\n' "$control" | "$mcpvm" exec -i sec -- sh -c \
  'grep -r -l -F -f /proc/self/fd/0 $(ls -d /* | grep -v -x -e /proc -e /sys -e /dev) 2>/dev/null; true')
check '[ "$found" = /tmp/control-file ]' "the same search finds a control string written to a guest file ($found)"

log "== restart"
MCPVM_SECRET_envsec="$env_value" "$mcpvm" restart sec >/dev/null 2>"$work/restart.err"
check '[ $? -eq 0 ]' "restart ($(tr '\n' ' ' < "$work/restart.err"))"
check '[ "$(server_sha sec MY_TOKEN)" = "$(sha "$value")" ]' "after restart the server has the secret again"
scan_no_trace "after restart"
check '[ $vm_procs -eq 2 ]' "the scan read the new runner and QEMU ($vm_procs processes)"
err=$("$mcpvm" restart sec 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "secret envsec: not found"' "restart without the env provider fails naming envsec ($err)"
check '[ "$(field sec .status)" = running ]' "... and leaves the VM running"

log "== stop, secret removed, start fails before boot"
"$mcpvm" stop sec >/dev/null
scan_no_trace "after stop"
"$mcpvm" secret rm x; check '[ $? -eq 0 ] && [ -z "$("$mcpvm" secret ls)" ]' "secret rm x"
boots=$(grep -c "QEMU started" "$MCPVM_HOME/vms/sec/logs/runner.log")
err=$(MCPVM_SECRET_envsec="$env_value" "$mcpvm" start sec 2>&1 >/dev/null); rc=$?
check '[ $rc -ne 0 ] && echo "$err" | grep -q "secret x: not found"' "start fails naming the removed secret ($err)"
check '[ "$(grep -c "QEMU started" "$MCPVM_HOME/vms/sec/logs/runner.log")" = "$boots" ]' "no VM booted"

log "== the runner's own restart re-resolves: a secret removed meanwhile fails that boot"
printf %s "$value" | "$mcpvm" secret set x
MCPVM_RESTART_DELAY_MS=200 MCPVM_SECRET_envsec="$env_value" "$mcpvm" run --name pol --restart always \
  --secret x,target=MY_TOKEN "${demo[@]}" image-unused >/dev/null 2>"$work/pol.err" || cat "$work/pol.err"
"$mcpvm" secret rm x >/dev/null
"$mcpvm" exec pol -- sh -c 'for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /usr/local/bin/mcpvm-demo-server ] && kill ${p#/proc/}; done; true'
for _ in $(seq 1 100); do [ "$(field pol .status)" = error ] && break; sleep 0.2; done
check '[ "$(field pol .status)" = error ] && field pol .message | grep -q "secret x: not found"' "the restart's boot fails naming x ($(field pol .status): $(field pol .message))"
check '[ "$(grep -c "QEMU started" "$MCPVM_HOME/vms/pol/logs/runner.log")" = 1 ]' "... before QEMU started, and is not retried"
"$mcpvm" rm -f pol >/dev/null

log "== rm"
"$mcpvm" rm -f sec >/dev/null
scan_no_trace "after rm"

log "== run --foreground --secret"
printf %s "$value" | "$mcpvm" secret set x
out=$("$mcpvm" run --foreground --secret x,target=MY_TOKEN --entrypoint /bin/sh "${demo[@]}" image-unused \
  -- -c 'printf %s "$MY_TOKEN" | sha256sum | cut -d" " -f1' 2>"$work/fg.err" </dev/null)
check '[ "$out" = "$(sha "$value")" ]' "a foreground run's command gets the secret ($(tail -2 "$work/fg.err" | tr '\n' ' '))"

[ $failures -eq 0 ] && log "all secrets checks passed" || log "$failures check(s) failed"
exit $((failures > 0))
