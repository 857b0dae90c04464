#!/usr/bin/env bash
# Warm start end to end (docs/warm-start.md), with MCPVM_WARM=1 and `mcpvm run --foreground`: the first run
# builds the template and restores from it; later runs restore only; two restored guests differ in boot id,
# random bytes and clock; the demo MCP server answers from a restored guest; a truncated or foreign
# template falls back to a cold boot with one warning line and is rebuilt; a changed input (memory, init
# binary) gets a template of its own. A QEMU older than 8 cannot restore microvm snapshots (docs/boot.md):
# there the test checks that every run falls back to a cold boot and still works.
set -euo pipefail

bin=${MCPVM_BIN_DIR:?}
src=${MCPVM_SOURCE_DIR:?}
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
work=$(mktemp -d /tmp/mcpvm-warm-test.XXXXXX)
export MCPVM_HOME=$work/home
cleanup() {
  # Every QEMU of this test (templates and VMs) names a file under $work.
  pkill -9 -f -- "$work/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL(warm): $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"; }
expect_contains() { grep -qF -- "$2" <<<"$1" || fail "$3: [$2] not in [$1]"; }
expect_not_contains() { ! grep -qF -- "$2" <<<"$1" || fail "$3: [$2] unexpectedly in [$1]"; }

qemu_major=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
restores=1
[ "${qemu_major:-0}" -ge 8 ] || restores=0

tree=$work/tree
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$tree" >/dev/null
cp "$bin/mcpvm-demo-server" "$tree/bin/"
rootfs=$work/busybox.sqfs
mksquashfs "$tree" "$rootfs" -noappend -comp zstd -quiet >/dev/null

# What identifies a machine, printed by the guest: boot id, 16 random bytes, hostname, wall clock.
identity='cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo; hostname; date +%s'

# run_warm NAME [run options...] -- ARGS: stdout/stderr/console in $work/NAME.{out,err,console}, code in $rc
run_warm() {
  local name=$1
  shift
  set +e
  MCPVM_WARM=1 MCPVM_LOG=info "$bin/mcpvm" run --foreground --rootfs "$rootfs" --console-log "$work/$name.console" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" <"${stdin:-/dev/null}"
  rc=$?
  set -e
}
restored() { grep -q "configured (entropy credited" "$work/$1.console"; }
templates() { find "$MCPVM_HOME/templates" -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name hashes 2>/dev/null | wc -l; }

# 1. First run: template built, VM restored from it.
run_warm first img -- /bin/sh -c "$identity"
expect_eq "$rc" 0 "first run ($(cat "$work/first.err"))"
host_now=$(date +%s)
if [ $restores = 0 ]; then
  expect_contains "$(cat "$work/first.err")" "warm start failed, booting cold" "QEMU $qemu_major falls back"
  expect_eq "$(grep -c "warm start failed" "$work/first.err")" 1 "one warning line"
  expect_eq "$(sed -n 3p "$work/first.out")" mcpvm "the cold fallback ran the command"
  echo "PASS(warm): QEMU $qemu_major cannot restore: cold fallback works"
  exit 0
fi
expect_contains "$(cat "$work/first.err")" "built template" "the first run builds the template"
restored first || fail "first run was not restored: $(cat "$work/first.console")"
expect_eq "$(templates)" 1 "one template"

# 2. Second run: restored, nothing built.
run_warm second img -- /bin/sh -c "$identity"
expect_eq "$rc" 0 "second run ($(cat "$work/second.err"))"
expect_not_contains "$(cat "$work/second.err")" "built template" "the second run reuses the template"
restored second || fail "second run was not restored: $(cat "$work/second.console")"

# 3. Two clones of one template are different machines.
for i in 1 2 3; do
  a=$(sed -n ${i}p "$work/first.out")
  b=$(sed -n ${i}p "$work/second.out")
  [ -n "$a" ] && [ "$a" != "$b" ] || fail "line $i (boot id, random bytes) equal or empty in two restored VMs: [$a] [$b]"
  [ $i = 2 ] && break
done
expect_eq "$(sed -n 3p "$work/second.out")" mcpvm "the hostname comes from the VM's config"
for run in first second; do
  t=$(sed -n 4p "$work/$run.out")
  [ $((host_now - t)) -le 30 ] && [ $((t - host_now)) -le 30 ] || fail "$run: guest clock $t, host $host_now"
done

# 4. The demo MCP server answers from a restored guest.
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sysinfo","arguments":{}}}' >"$work/mcp.in"
stdin=$work/mcp.in run_warm mcp img -- /bin/mcpvm-demo-server
expect_eq "$rc" 0 "demo server ($(cat "$work/mcp.err"))"
restored mcp || fail "demo server run was not restored"
expect_contains "$(sed -n 1p "$work/mcp.out")" '"id":1' "initialize answered"
expect_contains "$(sed -n 2p "$work/mcp.out")" 'mcpvm' "sysinfo from inside the restored guest"

# 5. Without MCPVM_WARM the VM boots cold.
set +e
"$bin/mcpvm" run --foreground --rootfs "$rootfs" --console-log "$work/cold.console" img -- /bin/true \
  >/dev/null 2>"$work/cold.err" </dev/null
rc=$?
set -e
expect_eq "$rc" 0 "cold run ($(cat "$work/cold.err"))"
! restored cold || fail "a run without MCPVM_WARM was restored"

# 6. A truncated, then a foreign device state: one warning, a cold boot that works, the template rebuilt.
dir=$(find "$MCPVM_HOME/templates" -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name hashes)
for damage in truncated foreign; do
  if [ $damage = truncated ]; then
    truncate -s 100 "$dir/state"
  else
    head -c 65536 /dev/urandom >"$dir/state"
  fi
  run_warm $damage img -- /bin/sh -c 'echo fallback-ok'
  expect_eq "$rc" 0 "$damage state ($(cat "$work/$damage.err"))"
  expect_eq "$(cat "$work/$damage.out")" fallback-ok "$damage state: the cold boot ran the command"
  expect_eq "$(grep -c "warm start failed" "$work/$damage.err")" 1 "$damage state: one warning line"
  ! restored $damage || fail "$damage state: restored anyway"
  [ ! -e "$dir" ] || fail "$damage state: the broken template was kept"
  run_warm rebuilt-$damage img -- /bin/true
  expect_contains "$(cat "$work/rebuilt-$damage.err")" "built template" "$damage: the template is rebuilt"
  restored rebuilt-$damage || fail "$damage: not restored from the rebuilt template"
done

# 7. Changed inputs get templates of their own: memory, and the init binary's bytes (same file name).
run_warm memory --memory 384 img -- /bin/true
expect_eq "$rc" 0 "--memory 384 ($(cat "$work/memory.err"))"
expect_contains "$(cat "$work/memory.err")" "built template" "another memory size builds another template"
expect_eq "$(templates)" 2 "two templates"
mkdir "$work/bin2"
cp "$bin/mcpvm-init" "$work/bin2/"
printf '\0' >>"$work/bin2/mcpvm-init"
set +e
MCPVM_WARM=1 MCPVM_LOG=info MCPVM_BIN_DIR=$work/bin2 "$bin/mcpvm" run --foreground --rootfs "$rootfs" \
  --console-log "$work/init2.console" img -- /bin/true >/dev/null 2>"$work/init2.err" </dev/null
rc=$?
set -e
expect_eq "$rc" 0 "changed init ($(cat "$work/init2.err"))"
expect_contains "$(cat "$work/init2.err")" "built template" "a changed init builds another template"
restored init2 || fail "changed init: not restored"
expect_eq "$(templates)" 3 "three templates"
echo "PASS(warm)"
