#!/usr/bin/env bash
# Test setup for the image store and everyone who needs the node MCP test image: builds it once (cached,
# see tests/fixtures/make-node-mcp-image.sh) into BUILD/fixtures/node-mcp-layout with the tag "mcp".
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/fixtures"
bash "$root/tests/fixtures/make-node-mcp-image.sh" "$build/fixtures/node-mcp-layout" mcp >/dev/null
