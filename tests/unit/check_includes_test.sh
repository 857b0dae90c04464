#!/usr/bin/env bash
# scripts/check-includes.sh passes on the tree and fails on an include that breaks the layering.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/check-includes.sh" "$root/src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/src" "$work/src"
echo '#include "runner/state.h"' >>"$work/src/mcp/hub.cpp"
if bash "$root/scripts/check-includes.sh" "$work/src" 2>"$work/err"; then
  echo "an upward include (mcp -> runner) was accepted" >&2
  exit 1
fi
grep -q 'src/mcp may not include from src/runner' "$work/err"
echo "include graph: ok; an upward include is refused"
