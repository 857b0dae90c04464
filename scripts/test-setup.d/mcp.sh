#!/usr/bin/env bash
# MCP e2e tests and the bridge benchmark need the npm clients/servers pinned in tests/e2e/package-lock.json.
# Idempotent: `npm ci` runs only when node_modules is missing or older than the lock file.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../../tests/e2e" && pwd)"
stamp="$dir/node_modules/.package-lock.json"
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
echo "test-setup(mcp): npm ci in $dir"
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
