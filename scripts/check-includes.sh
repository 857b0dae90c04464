#!/usr/bin/env bash
# The include graph between src/ folders, enforced: every `#include "FOLDER/..."` from one folder into
# another must be an edge listed below (docs/ARCHITECTURE.md draws the same graph). A new upward or
# sideways include fails the build (CMake target check_includes, part of `all`). Usage: check-includes.sh SRC_DIR
set -euo pipefail
src=${1:?usage: check-includes.sh SRC_DIR}

# folder: the folders it may include from (besides itself). Keep in step with docs/ARCHITECTURE.md.
declare -A allowed=(
  [util]=""
  [secrets]="util"
  [guest]="util"
  [oci]="util"
  [rootfs]="oci util"
  [net]="util"
  [mcp]="util"
  [registry]="oci net util"
  [vm]="guest util"
  [runner]="vm net mcp guest secrets util"
  [cli]="runner registry rootfs oci vm net mcp guest secrets util"
)

status=0
for dir in "$src"/*/; do
  folder=$(basename "$dir")
  if [[ ! -v allowed[$folder] ]]; then
    echo "check-includes: src/$folder is not in the layer table of scripts/check-includes.sh" >&2
    status=1
    continue
  fi
  while IFS=: read -r file line target; do
    [ "$target" = "$folder" ] && continue
    case " ${allowed[$folder]} " in
      *" $target "*) ;;
      *)
        echo "check-includes: ${file#"$src"/}:$line: src/$folder may not include from src/$target (allowed: ${allowed[$folder]:-nothing})" >&2
        status=1
        ;;
    esac
  done < <(grep -rnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$dir" --include='*.h' --include='*.cpp' |
           sed -E 's/^([^:]+):([0-9]+):.*"([a-z_]+)\/$/\1:\2:\3/')
done
exit $status
