#!/usr/bin/env bash
# Integration tests of `mcpvm run --foreground` booting real microVMs (QEMU, TCG here). One case per
# invocation: boot_test.sh CASE (see boot.cmake). Each case builds a busybox squashfs in its own temp dir
# (with its own MCPVM_HOME), checks what the guest printed and the exit code, and checks that no QEMU of
# its own is left behind.
set -euo pipefail

case_name=$1
bin=${MCPVM_BIN_DIR:?}
src=${MCPVM_SOURCE_DIR:?}
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
work=$(mktemp -d /tmp/mcpvm-boot-test.XXXXXX)
export MCPVM_HOME=$work/home
cleanup() {
  # Every QEMU this case started has its rootfs under $work: none may survive.
  pkill -9 -f -- "file=$work/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL($case_name): $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"; }
expect_contains() { grep -qF -- "$2" <<<"$1" || fail "$3: [$2] not in [$1]"; }

make_rootfs() {  # make_rootfs OUT.sqfs [extra file to put at /bin/...]
  local tree=$work/tree-$RANDOM
  bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$tree" >/dev/null
  chown 1000:1000 "$tree/home/app"
  if [ -n "${2:-}" ]; then cp "$2" "$tree/bin/"; fi
  mksquashfs "$tree" "$1" -noappend -comp zstd -quiet >/dev/null
  rm -rf "$tree"
}

rootfs=$work/busybox.sqfs
make_rootfs "$rootfs"

# run_vm [mcpvm run options...] -- ARGS : stdout in $out, stderr in $err, exit code in $rc
run_vm() {
  set +e
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

no_qemu_left() {
  if pgrep -f -- "file=$work/" >/dev/null; then fail "a QEMU process was left behind"; fi
}

config() {  # config JSON -> path of an --image-config file
  local f=$work/config-$RANDOM.json
  echo "$1" >"$f"
  echo "$f"
}

case $case_name in
exit_code)
  # The server never reads its stdin, which is larger than every buffer on the way: mcpvm must still
  # see the exit (stdin is only read when the VM takes it).
  head -c 8388608 /dev/zero >"$work/big-stdin"
  set +e
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/sh -c 'echo out; echo err >&2; exit 3' \
    <"$work/big-stdin" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
  expect_eq "$rc" 3 "exit code"
  expect_eq "$out" out "stdout"
  expect_eq "$err" err "stderr"
  ;;
unsigned_modules)
  # The init hands the kernel its modules without their signatures when it does not enforce them
  # (Debian's: sig_enforce=N), so the kernel loads them with the "unsigned module" taint (bit 13, E)
  # instead of verifying each one. A kernel with everything built in loads none and stays untainted.
  run_vm img -- /bin/sh -c 'cat /sys/module/module/parameters/sig_enforce 2>/dev/null || echo none; echo $(( $(cat /proc/sys/kernel/tainted) >> 13 & 1 )); cut -d" " -f1 /proc/modules | sort | tr "\n" " "'
  expect_eq "$rc" 0 "exit code ($err)"
  mapfile -t lines <<<"$out"
  if [ -n "${lines[2]:-}" ]; then
    expect_eq "${lines[0]}" N "the kernel does not enforce module signatures"
    expect_eq "${lines[1]}" 1 "modules loaded unsigned (taint E)"
    expect_contains "${lines[2]}" "virtio_blk" "modules loaded"
  else
    expect_eq "${lines[1]}" 0 "no module, no taint"
  fi
  ;;
exit_signal)
  run_vm img -- /bin/sh -c 'kill -KILL $$'
  expect_eq "$rc" 137 "killed by SIGKILL"
  ;;
env_layering)
  cfg=$(config '{"Env":["A=image","B=image","C=image","PATH=/bin:/usr/bin"],"Cmd":["/bin/sh","-c","echo A=$A B=$B C=$C; echo PATH=$PATH HOME=$HOME HOSTNAME=$HOSTNAME; echo H=$(hostname)"]}')
  printf 'B=file\nC=file\n# comment\n' >"$work/env"
  run_vm --image-config "$cfg" --env-file "$work/env" -e C=cli img
  expect_eq "$rc" 0 "exit code ($err)"
  expect_contains "$out" "A=image B=file C=cli" "layering image < env-file < -e"
  expect_contains "$out" "PATH=/bin:/usr/bin HOME=/root HOSTNAME=mcpvm" "defaults"
  expect_contains "$out" "H=mcpvm" "hostname"
  ;;
user_name_workdir)
  cfg=$(config '{"User":"app","WorkingDir":"/home/app","Cmd":["/bin/sh","-c","id; pwd; echo HOME=$HOME; touch mine && ls -n mine | awk \"{print \\$3}\"; grep -E \"^(NoNewPrivs|CapBnd)\" /proc/self/status"]}')
  run_vm --image-config "$cfg" img
  expect_eq "$rc" 0 "exit code ($err)"
  expect_contains "$out" "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)" "id"
  expect_contains "$out" "/home/app" "workdir"
  expect_contains "$out" "HOME=/home/app" "HOME"
  expect_contains "$out" $'\n1000\n' "file created as the user"
  expect_contains "$out" "NoNewPrivs:	1" "no_new_privs"
  expect_contains "$out" "CapBnd:	00000000a80425fb" "docker's default bounding set"
  ;;
user_uid_gid)
  cfg=$(config '{"User":"1234:5678","Cmd":["/bin/sh","-c","id -u; id -g; id -G"]}')
  run_vm --image-config "$cfg" img
  expect_eq "$rc" 0 "exit code ($err)"
  expect_eq "$out" $'1234\n5678\n5678' "uid:gid"
  ;;
entrypoint_args)
  cfg=$(config '{"Entrypoint":["/bin/echo","ep"],"Cmd":["from-cmd"]}')
  run_vm --image-config "$cfg" img -- a1 "a 2"
  expect_eq "$out" "ep a1 a 2" "ARGS replace Cmd"
  run_vm --image-config "$cfg" --entrypoint /bin/echo img -- only
  expect_eq "$out" "only" "--entrypoint replaces Entrypoint and drops Cmd"
  ;;
stdio_16m)
  # 16 MiB of random bytes through the guest's stdin and back on its stdout, byte-exact; stdin EOF must
  # reach the server (cat ends) and its stderr must stay separate.
  head -c 16777216 /dev/urandom >"$work/payload"
  set +e
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/sh -c 'cat; echo eof-seen >&2' \
    <"$work/payload" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  expect_eq "$rc" 0 "exit code ($(cat "$work/err"))"
  expect_eq "$(cmp "$work/payload" "$work/out" && echo same)" same "16 MiB byte-exact"
  expect_contains "$(cat "$work/err")" "eof-seen" "stdin EOF"
  ;;
orphans)
  run_vm img -- /bin/sh -c '
    for i in 1 2 3 4 5; do (sleep 0.2 & exit 0) ; done
    sh -c "sleep 0.1 & exec true" &
    sleep 2
    z=0; for s in /proc/[0-9]*/stat; do case $(cut -d" " -f3 "$s" 2>/dev/null) in Z) z=$((z+1));; esac; done
    echo zombies=$z
    sleep 1000 &
    echo left-running'
  expect_eq "$rc" 0 "exit code ($err)"
  expect_contains "$out" "zombies=0" "orphans reaped"
  expect_contains "$out" "left-running" "output before exit"
  ;;
overlay_isolation)
  # Two VMs of the same squashfs at once: writes land in each VM's own overlay.
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/sh -c \
    'echo secret >/etc/written && cat /etc/written && sleep 3' >"$work/out1" 2>&1 </dev/null &
  first=$!
  sleep 1
  run_vm img -- /bin/sh -c 'sleep 1; test -e /etc/written && echo visible || echo isolated'
  wait $first || fail "first VM failed: $(cat "$work/out1")"
  expect_eq "$(cat "$work/out1")" secret "first VM wrote"
  expect_eq "$out" isolated "second VM does not see it"
  run_vm img -- /bin/sh -c 'test -e /etc/written && echo visible || echo isolated'
  expect_eq "$out" isolated "a later VM does not see it"
  ;;
ctrl_c)
  # SIGINT to mcpvm reaches the server as SIGTERM; its exit code is mcpvm's.
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/sh -c \
    'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$work/out" 2>"$work/err" </dev/null &
  pid=$!
  for _ in $(seq 600); do grep -q ready "$work/out" && break; sleep 0.2; done
  grep -q ready "$work/out" || { kill -9 $pid; fail "server never started: $(cat "$work/err")"; }
  kill -INT $pid
  set +e; wait $pid; rc=$?; set -e
  expect_eq "$rc" 7 "exit code after Ctrl-C ($(cat "$work/err"))"
  expect_contains "$(cat "$work/out")" got-term "server saw SIGTERM"
  ;;
stop_timeout)
  # A server that ignores SIGTERM: the VM is powered off after --stop-timeout, exit 137.
  "$bin/mcpvm" run --foreground --stop-timeout 1 --rootfs "$rootfs" img -- /bin/sh -c \
    'trap "" TERM; echo ready; while :; do sleep 0.1; done' >"$work/out" 2>"$work/err" </dev/null &
  pid=$!
  for _ in $(seq 600); do grep -q ready "$work/out" && break; sleep 0.2; done
  grep -q ready "$work/out" || { kill -9 $pid; fail "server never started: $(cat "$work/err")"; }
  start_ms=$(( $(date +%s%N) / 1000000 ))
  kill -TERM $pid
  set +e; wait $pid; rc=$?; set -e
  elapsed_ms=$(( $(date +%s%N) / 1000000 - start_ms ))
  expect_eq "$rc" 137 "exit code after the stop timeout"
  # Bounded both ways: not before the 1 s timeout (the server ignored SIGTERM, so an earlier end would
  # mean the timeout is not what ended it), and not long after.
  [ "$elapsed_ms" -ge 1000 ] || fail "stopped after $elapsed_ms ms, before the 1 s stop timeout"
  [ "$elapsed_ms" -le 5000 ] || fail "took $elapsed_ms ms to stop (more than 5 s)"
  ;;
boot_deadline)
  set +e
  MCPVM_BOOT_TIMEOUT=0.5 "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/true >/dev/null 2>"$work/err"
  rc=$?
  set -e
  expect_eq "$rc" 1 "exit code"
  expect_contains "$(cat "$work/err")" "did not start the server within" "message"
  ;;
bad_input)
  run_vm --image-config "$(config '{"User":"nosuch","Cmd":["/bin/true"]}')" img
  expect_eq "$rc" 126 "unknown user"
  expect_contains "$err" "unable to find user nosuch" "unknown user message"
  run_vm --image-config "$(config '{"WorkingDir":"/nope","Cmd":["/bin/true"]}')" img
  expect_eq "$rc" 126 "missing workdir"
  expect_contains "$err" "working directory /nope does not exist" "missing workdir message"
  run_vm img -- no-such-command
  expect_eq "$rc" 127 "command not found"
  expect_contains "$err" "executable file not found" "command not found message"
  run_vm img
  expect_eq "$rc" 1 "no command"
  expect_contains "$err" "no command to run" "no command message"
  run_vm --kernel /nonexistent/vmlinux img -- /bin/true
  expect_contains "$err" "kernel /nonexistent/vmlinux not found" "missing kernel"
  set +e
  PATH=/nonexistent "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/true 2>"$work/err"
  rc=$?
  set -e
  expect_eq "$rc" 1 "no qemu"
  expect_contains "$(cat "$work/err")" "qemu-system-x86_64 not found" "no qemu message"
  ;;
demo_server)
  # The static demo MCP server as the workload: initialize + tools/call over the VM's stdio.
  [ -x "$bin/mcpvm-demo-server" ] || fail "mcpvm-demo-server not built"
  make_rootfs "$rootfs" "$bin/mcpvm-demo-server"
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sysinfo","arguments":{}}}' >"$work/in"
  set +e
  "$bin/mcpvm" run --foreground --rootfs "$rootfs" img -- /bin/mcpvm-demo-server <"$work/in" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  expect_eq "$rc" 0 "exit code ($(cat "$work/err"))"
  expect_contains "$(sed -n 1p "$work/out")" '"id":1' "initialize answered"
  expect_contains "$(sed -n 2p "$work/out")" 'mcpvm' "sysinfo from inside the guest (hostname)"
  ;;
image_import)
  # The whole path: an OCI layout imported into the store, resolved, turned into a squashfs, booted.
  tree=$work/image-tree
  bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$tree" >/dev/null
  bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout" boot-test:1 --layer "$tree" \
    --entrypoint '["/bin/sh","-c"]' --cmd '["echo image-cmd $GREETING; id -un"]' --env GREETING=hello \
    --user app --workdir /home/app >/dev/null
  "$bin/mcpvm" import "$work/layout" --tag boot-test:1 >/dev/null 2>"$work/err" || fail "import: $(cat "$work/err")"
  set +e
  "$bin/mcpvm" run --foreground boot-test:1 >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  set -e
  expect_eq "$rc" 0 "exit code ($(cat "$work/err"))"
  expect_eq "$(cat "$work/out")" $'image-cmd hello\napp' "image command, env and user"
  ;;
scratch_image)
  # An image FROM scratch: one static binary and nothing else (no /etc, no /tmp). The runtime must provide
  # /etc/hosts, /etc/resolv.conf, /etc/hostname and /tmp, and the network setup must be able to write them.
  mkdir -p "$work/scratch"
  cp /bin/busybox "$work/scratch/busybox"
  bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout" scratch:1 --layer "$work/scratch" \
    --entrypoint '["/busybox","sh","-c"]' \
    --cmd '["B=/busybox; $B echo hostname=$($B hostname) etc=$($B cat /etc/hostname); $B grep -c ^nameserver /etc/resolv.conf; $B grep -q \"$($B hostname)\" /etc/hosts && $B echo hosts-has-hostname; $B stat -c tmp=%a /tmp"]' \
    >/dev/null
  "$bin/mcpvm" import "$work/layout" --tag scratch:1 >/dev/null 2>"$work/err" || fail "import: $(cat "$work/err")"
  set +e
  "$bin/mcpvm" run --foreground scratch:1 >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  set -e
  expect_eq "$rc" 0 "exit code ($(cat "$work/err"))"
  host=$(sed -n 's/^hostname=\([^ ]*\) .*/\1/p' "$work/out")
  [ -n "$host" ] || fail "no hostname line in [$(cat "$work/out")]"
  expect_eq "$(cat "$work/out")" "hostname=$host etc=$host"$'\n1\nhosts-has-hostname\ntmp=1777' \
    "runtime files of a scratch image"
  ;;
*)
  fail "unknown case"
  ;;
esac
no_qemu_left
echo "ok: $case_name"
