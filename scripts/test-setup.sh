#!/usr/bin/env bash
# Prepares what the integration and e2e tests need beyond the build: hooks for each concern live in
# scripts/test-setup.d/*.sh (run in order, each idempotent; they receive the build dir as $1).
set -euo pipefail
build=${1:-build}
shopt -s nullglob
for hook in "$(dirname "$0")"/test-setup.d/*.sh; do
  bash "$hook" "$build"
done
