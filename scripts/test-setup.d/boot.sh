#!/usr/bin/env bash
# The VM tests need the guest kernel cache (scripts/fetch-kernel.sh; idempotent, a no-op when present).
set -euo pipefail
if [ -n "${MCPVM_KERNEL:-}" ] || [ -f /var/lib/mcpvm/kernel/current/.complete ]; then
  exit 0
fi
bash "$(dirname "$0")/../fetch-kernel.sh"
