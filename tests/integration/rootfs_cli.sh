#!/usr/bin/env bash
# End to end through the CLI: import an OCI layout, `build-rootfs` (built, then cached), `images` reports
# the rootfs and its size, a layer with a hostile entry fails with a clear one-line error and leaves no file,
# `rmi` removes the rootfs. Runs in its own $MCPVM_HOME.
set -euo pipefail
bin=${MCPVM_BIN_DIR:?}/mcpvm
src=${MCPVM_SOURCE_DIR:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MCPVM_HOME=$work/home
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$work/bb"
bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout" bb:1 --layer "$work/bb" >/dev/null
"$bin" import "$work/layout" --tag bb:1 >/dev/null

first=$("$bin" build-rootfs bb:1 --json)
[ "$(jq -r .built <<<"$first")" = true ] || fail "first build-rootfs did not build: $first"
path=$(jq -r .rootfs <<<"$first")
digest=$(jq -r .digest <<<"$first")
[ "$path" = "$MCPVM_HOME/rootfs/${digest#sha256:}.sqfs" ] || fail "unexpected rootfs path $path"
[ "$(stat -c %a "$path")" = 600 ] || fail "rootfs mode is $(stat -c %a "$path")"
listing=$(unsquashfs -lln "$path")
grep -q ' squashfs-root/bin/busybox$' <<<"$listing" || fail "no /bin/busybox in the rootfs"

second=$("$bin" build-rootfs bb:1 --json)
[ "$(jq -r .built <<<"$second")" = false ] || fail "second build-rootfs rebuilt: $second"

images=$("$bin" images --json)
jq -e --arg p "$path" '.[] | select(.rootfs.path == $p and .rootfs.size > 0)' <<<"$images" >/dev/null \
  || fail "images does not report the rootfs: $images"

# A hostile layer on top: an entry written through a symlink of the same layer.
python3 - "$work/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    s = tarfile.TarInfo("etc"); s.type = tarfile.SYMTYPE; s.linkname = "/etc"; t.addfile(s)
    f = tarfile.TarInfo("etc/evil"); f.size = 4; t.addfile(f, io.BytesIO(b"evil"))
PY
bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout-evil" evil:1 --layer "$work/bb" --layer-tar "$work/evil.tar" >/dev/null
"$bin" import "$work/layout-evil" --tag evil:1 >/dev/null
if err=$("$bin" build-rootfs evil:1 2>&1); then fail "hostile image built: $err"; fi
grep -q "entry 'etc/evil': its parent 'etc' is not a directory in the same layer" <<<"$err" || fail "unclear error: $err"
[ "$(wc -l <<<"$err")" = 1 ] || fail "error is not one line: $err"
[ ! -e /etc/evil ] || fail "/etc/evil exists"
leftovers=$(find "$MCPVM_HOME/rootfs" -name '*.sqfs*' ! -path "$path" | wc -l)
[ "$leftovers" = 0 ] || fail "files left by the failed build: $(ls -la "$MCPVM_HOME/rootfs")"

"$bin" rmi bb:1 >/dev/null
[ ! -e "$path" ] || fail "rmi left the rootfs $path"
echo "rootfs CLI: ok"
