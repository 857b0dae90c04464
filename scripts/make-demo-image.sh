#!/usr/bin/env bash
# Builds the bundled demo image (an OCI layout) from the static mcpvm-demo-server: a scratch-like image with
# just the server and an unprivileged user. usage: make-demo-image.sh BUILD_DIR OUT_LAYOUT
set -euo pipefail
build=$1 out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/home/mcp" "$root/tmp"
install -m 0755 "$build/bin/mcpvm-demo-server" "$root/usr/local/bin/mcpvm-demo-server"
printf 'root:x:0:0:root:/root:/bin/false\nmcp:x:1000:1000:mcp:/home/mcp:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nmcp:x:1000:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
rm -rf "$out"
"$here/tests/fixtures/make-oci-image.sh" "$out" mcpvm-demo:latest --layer "$root" \
  --entrypoint '["/usr/local/bin/mcpvm-demo-server"]' --user mcp --workdir /home/mcp \
  --env PATH=/usr/local/bin:/usr/bin:/bin --label org.opencontainers.image.title=mcpvm-demo >/dev/null
