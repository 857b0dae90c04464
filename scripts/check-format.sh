#!/usr/bin/env bash
# Fails when a tracked C++ file is not clang-format clean (.clang-format at the root); `make format` fixes.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h')
clang-format --dry-run --Werror "${files[@]}"
