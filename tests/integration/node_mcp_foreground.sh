#!/usr/bin/env bash
# Issue 4's "Done when": the node MCP server image (server-everything, tests/fixtures/make-node-mcp-image.sh)
# runs under `mcpvm run --foreground` and a client talks MCP to it over stdio: initialize,
# notifications/initialized, tools/list, tools/call echo (node_mcp_stdio.py checks each reply); then stdin
# is closed and mcpvm must exit 0 within 60 s. No QEMU of this test may be left.
#
# usage: node_mcp_foreground.sh BUILD_DIR        (MCPVM_BIN_DIR and MCPVM_SOURCE_DIR as ctest sets them)
set -euo pipefail
build=$(cd "${1:?usage: node_mcp_foreground.sh BUILD_DIR}" && pwd)
bin=${MCPVM_BIN_DIR:-$build/bin}
src=${MCPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
work=$(mktemp -d /tmp/mcpvm-node-mcp.XXXXXX)
export MCPVM_HOME=$work/home
cleanup() {
  # Our QEMUs are the ones whose console log is under $work (foreground runs keep it in MCPVM_HOME).
  for p in $(pgrep -f -- "$work/" || true); do [ "$p" != $$ ] && kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The image: from the test-setup hook (scripts/test-setup.d/oci.sh), else built here (cached).
layout=$build/fixtures/node-mcp-layout
if [ ! -f "$layout/index.json" ]; then
  layout=$work/layout
  bash "$src/tests/fixtures/make-node-mcp-image.sh" "$layout" mcp >/dev/null
fi
"$bin/mcpvm" import "$layout" --tag node-mcp:test >/dev/null 2>"$work/err" || fail "import: $(cat "$work/err")"

# Replies within 240 s of the start (the first run also builds the rootfs; TCG boots node slowly), the
# exit within 60 s of closing stdin.
if ! python3 "$src/tests/integration/node_mcp_stdio.py" 240 60 "$work/mcpvm.err" -- \
  "$bin/mcpvm" run --foreground node-mcp:test; then
  echo "--- mcpvm stderr ---" >&2
  tail -20 "$work/mcpvm.err" >&2
  exit 1
fi
sleep 0.5
if pgrep -f -- "$work/" >/dev/null; then fail "a process of this test (QEMU) was left behind"; fi
[ -z "$(ls -A "$MCPVM_HOME/foreground" 2>/dev/null)" ] || fail "the foreground run left its directory behind"
echo "ok: node MCP server over stdio in the foreground"
