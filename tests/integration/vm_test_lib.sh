# Shared by the shell tests that drive detached VMs (runner_lifecycle.sh, exec_test.sh): a private
# MCPVM_HOME, a cleanup that leaves no process behind, check/log helpers, and the demo squashfs fixture.
# Source it after setting `build` and `src`; then call vm_test_setup PREFIX.

# A short MCPVM_HOME under /tmp keeps the control socket path well under the 108-byte limit.
vm_test_setup() {
  mcpvm=$build/bin/mcpvm
  export MCPVM_BIN_DIR=$build/bin
  work=$(mktemp -d "/tmp/mcpvm-$1-XXXXXX")
  export MCPVM_HOME=$work/home
  failures=0
  trap vm_test_cleanup EXIT
}

# Whatever a failed case left: kill it through the product, then by a /proc scan as a last resort.
vm_test_cleanup() {
  for d in "$MCPVM_HOME"/vms/*/; do [ -d "$d" ] && "$mcpvm" rm -f "$(basename "$d")" >/dev/null 2>&1; done
  jobs -p | xargs -r kill -9 2>/dev/null
  for f in $(grep -l -s -a -F -- "$work/" /proc/[0-9]*/cmdline); do
    p=${f#/proc/}
    [ "${p%/cmdline}" != $$ ] && kill -9 "${p%/cmdline}" 2>/dev/null
  done
  rm -rf "$work"
}

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
check() { if eval "$1"; then log "ok: $2"; else fail "$2 (${1})"; fi; }

# $work/demo.sqfs: a busybox rootfs with the static demo MCP server in /usr/local/bin.
make_demo_squashfs() {
  local rootfs=$work/rootfs
  bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$rootfs" >/dev/null
  install -D -m 0755 "$build/bin/mcpvm-demo-server" "$rootfs/usr/local/bin/mcpvm-demo-server"
  mksquashfs "$rootfs" "$work/demo.sqfs" -quiet -noappend -all-root >/dev/null || { echo "mksquashfs failed"; exit 1; }
}
