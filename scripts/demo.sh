#!/usr/bin/env bash
# make demo: the most complete real flow that exists today (see README "Status").
set -euo pipefail
build=${1:-build}
echo "mcpvm demo: the image store, rootfs, boot and MCP endpoint are being built; nothing to demo yet." >&2
"$build/bin/mcpvm" version
