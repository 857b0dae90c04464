#!/usr/bin/env bash
# Integration tests of `mcpvm pull/import/images/inspect-image/rmi` against real Debian docker-registry
# instances on 127.0.0.1 (open, basic auth, bearer tokens), with images built locally and pushed by skopeo.
# Every bad input must exit non-zero with one "mcpvm: ..." line and leave no temp file and no ref behind.
set -euo pipefail
MCPVM=${MCPVM_BIN_DIR:?}/mcpvm
SRC=${MCPVM_SOURCE_DIR:?}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcpvm-oci-it.XXXXXX")
source "$SRC/tests/integration/registry/harness.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
export MCPVM_HOME=$WORK/home
export DOCKER_CONFIG=$WORK/no-docker-config   # never the real user's credentials
FAILED=0 PASSED=0

pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

no_temp_files() { [ -z "$(find "$MCPVM_HOME" -name '.tmp-*' 2>/dev/null)" ]; }
has_ref() { [ -f "$MCPVM_HOME/refs.json" ] && jq -e --arg r "$1" '.refs | has($r)' "$MCPVM_HOME/refs.json" >/dev/null; }

# expect_ok DESC CMD... : succeeds; its stdout is in $OUT, stderr in $ERR
expect_ok() {
  local desc=$1; shift
  if OUT=$("$@" 2>"$WORK/err"); then pass "$desc"; else fail "$desc (exit $?): $(tail -n3 "$WORK/err")"; fi
  ERR=$(cat "$WORK/err")
}

# expect_error DESC REF_THAT_MUST_NOT_EXIST REGEX CMD... : non-zero, exactly one "mcpvm:" line, last, matching
expect_error() {
  local desc=$1 ref=$2 regex=$3; shift 3
  local rc=0
  "$@" >/dev/null 2>"$WORK/err" || rc=$?
  local lines last
  lines=$(grep -c '^mcpvm:' "$WORK/err" || true)
  last=$(tail -n1 "$WORK/err")
  if [ $rc -eq 0 ]; then fail "$desc: exited 0"
  elif [ "$lines" != 1 ] || [[ $last != mcpvm:* ]]; then fail "$desc: expected one error line, got: $(cat "$WORK/err")"
  elif ! grep -Eq -- "$regex" <<<"$last"; then fail "$desc: message \"$last\" does not match /$regex/"
  elif ! no_temp_files; then fail "$desc: temp files left: $(find "$MCPVM_HOME" -name '.tmp-*')"
  elif [ -n "$ref" ] && has_ref "$ref"; then fail "$desc: ref $ref exists"
  else pass "$desc  [$last]"; fi
}

# Every blob in the store hashes to its name.
store_verifies() {
  local f
  for f in "$MCPVM_HOME"/blobs/sha256/*; do
    [ -e "$f" ] || continue
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || return 1
  done
}

# ---------- images ----------
bash "$SRC/tests/fixtures/make-busybox-rootfs.sh" "$WORK/rootfs" >/dev/null
BUSY=$(bash "$SRC/tests/fixtures/make-oci-image.sh" "$WORK/layout" 1 --layer "$WORK/rootfs" \
  --entrypoint '["/bin/sh"]' --cmd '["-c","echo hi"]' --env A=B --workdir /tmp --user app --expose 8080/tcp --label k=v)
for n in 1 2 3; do mkdir -p "$WORK/big$n"; head -c 6000000 /dev/urandom > "$WORK/big$n/data$n"; done
BIG=$(bash "$SRC/tests/fixtures/make-oci-image.sh" "$WORK/layout" big --layer "$WORK/rootfs" --layer "$WORK/big1" \
  --layer "$WORK/big2" --layer "$WORK/big3" --cmd '["sh"]')
mk_unique() {  # TAG: a one-layer image whose layer no other image shares
  mkdir -p "$WORK/u-$1"; echo "$1 $RANDOM" > "$WORK/u-$1/f"; head -c 200000 /dev/urandom > "$WORK/u-$1/r"
  bash "$SRC/tests/fixtures/make-oci-image.sh" "$WORK/layout" "$1" --layer "$WORK/u-$1" --cmd '["x"]'
}
layer_of() { jq -r '.layers[-1].digest' "$WORK/layout/blobs/sha256/${1#sha256:}"; }

# ---------- open registry ----------
start_registry open open
R=$REG_open
push "$WORK/layout:1" "$R/x/busy:1"
push "$WORK/layout:big" "$R/x/big:1"

expect_ok "pull a tagged image over plain http" "$MCPVM" pull --tls-verify=false "$R/x/busy:1"
[ "$OUT" = "$R/x/busy:1 $BUSY" ] && pass "pull prints ref and manifest digest" || fail "pull printed '$OUT', want '$R/x/busy:1 $BUSY'"
expect_ok "inspect-image --json" "$MCPVM" inspect-image --json "$R/x/busy:1"
[ "$(jq -c '[.entrypoint,.cmd,.env,.workingDir,.user,.exposedPorts,.labels,.digest]' <<<"$OUT")" = \
  "[[\"/bin/sh\"],[\"-c\",\"echo hi\"],[\"A=B\"],\"/tmp\",\"app\",[\"8080/tcp\"],{\"k\":\"v\"},\"$BUSY\"]" ] &&
  pass "inspect-image shows the config" || fail "inspect-image: $OUT"
expect_ok "pull again skips present layers" "$MCPVM" pull --tls-verify=false "$R/x/busy:1"
grep -q "exists" <<<"$ERR" && pass "second pull says the layer exists" || fail "second pull: $ERR"
expect_ok "pull by digest" "$MCPVM" pull --tls-verify=false "$R/x/busy@$BUSY"
expect_ok "images --json" "$MCPVM" images --json
[ "$(jq -r '[.[].reference] | sort | join(" ")' <<<"$OUT")" = "$R/x/busy:1 $R/x/busy@$BUSY" ] &&
  pass "images lists both refs" || fail "images: $OUT"
expect_ok "resolve by short digest" "$MCPVM" inspect-image "${BUSY:7:12}"

expect_ok "pull a 4-layer image in parallel" "$MCPVM" pull --tls-verify=false --parallel 3 "$R/x/big:1"
store_verifies && pass "every blob in the store matches its digest" || fail "store has a blob that does not match"
[ "$(stat -c %a "$MCPVM_HOME/blobs/sha256")" = 700 ] && [ "$(stat -c %a "$MCPVM_HOME/refs.json")" = 600 ] &&
  pass "store is private (0700 dirs, 0600 files)" || fail "store permissions"

# Two pulls of the same image at once: both succeed, one consistent copy.
rm -rf "$MCPVM_HOME"
"$MCPVM" pull -q --tls-verify=false "$R/x/big:1" >"$WORK/c1" 2>&1 & p1=$!
"$MCPVM" pull -q --tls-verify=false "$R/x/big:1" >"$WORK/c2" 2>&1 & p2=$!
if wait $p1 && wait $p2; then pass "two concurrent pulls both succeed"; else fail "concurrent pulls: $(cat "$WORK/c1" "$WORK/c2")"; fi
[ "$(jq '.refs | length' "$MCPVM_HOME/refs.json")" = 1 ] && store_verifies && no_temp_files &&
  [ "$(ls "$MCPVM_HOME/blobs/sha256" | wc -l)" = 6 ] &&
  pass "concurrent pulls leave one consistent copy (6 blobs)" || fail "store after concurrent pulls: $(ls -a "$MCPVM_HOME/blobs/sha256")"

# Ctrl-C: transfers stop, temp files are removed, exit 130 (or 0 if it had already finished).
rm -rf "$MCPVM_HOME"
"$MCPVM" pull -q --tls-verify=false --parallel 1 "$R/x/big:1" >/dev/null 2>"$WORK/int-err" & pi=$!
sleep 0.3; kill -INT $pi 2>/dev/null || true; rc=0; wait $pi || rc=$?
if [ $rc = 130 ] && no_temp_files && ! has_ref "$R/x/big:1" && grep -q "interrupted" "$WORK/int-err"; then
  pass "SIGINT stops the pull and leaves no temp file"
elif [ $rc = 0 ] && no_temp_files; then pass "SIGINT arrived after the pull finished; no temp file"
else fail "SIGINT: exit $rc, $(cat "$WORK/int-err"), temps: $(find "$MCPVM_HOME" -name '.tmp-*')"; fi
# A pull killed mid-way leaves nothing that reads as valid; the next pull completes it; rmi collects the rest.
rm -rf "$MCPVM_HOME"
"$MCPVM" pull -q --tls-verify=false --parallel 1 "$R/x/big:1" >/dev/null 2>&1 & pk=$!
sleep 0.3; kill -9 $pk 2>/dev/null || true; wait $pk 2>/dev/null || true
if has_ref "$R/x/big:1"; then
  "$MCPVM" inspect-image "$R/x/big:1" >/dev/null && store_verifies && pass "killed pull finished before the kill, store valid" ||
    fail "killed pull left an invalid entry"
else
  ! "$MCPVM" inspect-image "$R/x/big:1" >/dev/null 2>&1 && store_verifies &&
    pass "killed pull left no entry and no unverified blob" || fail "killed pull left an entry"
fi
expect_ok "pull after a killed pull" "$MCPVM" pull -q --tls-verify=false "$R/x/big:1"
expect_ok "rmi" "$MCPVM" rmi "$R/x/big:1"
[ -z "$(ls -A "$MCPVM_HOME/blobs/sha256")" ] && [ "$(jq '.refs | length' "$MCPVM_HOME/refs.json")" = 0 ] &&
  pass "rmi of the last ref collects every blob (and crash leftovers)" || fail "after rmi: $(ls -A "$MCPVM_HOME/blobs/sha256")"

# rmi keeps blobs another ref needs, deletes the rootfs cache only with the last ref of a manifest.
expect_ok "pull for rmi" "$MCPVM" pull -q --tls-verify=false "$R/x/busy:1"
expect_ok "pull by digest for rmi" "$MCPVM" pull -q --tls-verify=false "$R/x/busy@$BUSY"
mkdir -p "$MCPVM_HOME/rootfs"; echo sqfs > "$MCPVM_HOME/rootfs/${BUSY#sha256:}.sqfs"
expect_ok "images shows the rootfs cache" "$MCPVM" images --json
[ "$(jq -r '.[0].rootfs.size' <<<"$OUT")" = 5 ] && pass "images reports rootfs size" || fail "images rootfs: $OUT"
expect_ok "rmi one of two refs" "$MCPVM" rmi "$R/x/busy:1"
[ -f "$MCPVM_HOME/rootfs/${BUSY#sha256:}.sqfs" ] && "$MCPVM" inspect-image "$R/x/busy@$BUSY" >/dev/null &&
  pass "the other ref and the rootfs cache survive" || fail "rmi removed too much"
expect_ok "rmi by digest" "$MCPVM" rmi "$BUSY"
[ ! -e "$MCPVM_HOME/rootfs/${BUSY#sha256:}.sqfs" ] && [ -z "$(ls -A "$MCPVM_HOME/blobs/sha256")" ] &&
  pass "rmi of the last ref removes the rootfs cache and blobs" || fail "rootfs cache or blobs left"
expect_error "rmi of an unknown image" "" "^mcpvm: image nothere not found$" "$MCPVM" rmi nothere

# Manifest list / OCI index, written into the registry with curl PUT.
push "$WORK/layout:1" "$R/x/multi:base"
busy_size=$(stat -c %s "$WORK/layout/blobs/sha256/${BUSY#sha256:}")
put_index() {  # TAG PLATFORMS...
  local tag=$1; shift
  local entries=() p
  for p in "$@"; do
    entries+=("$(jq -cn --arg d "$BUSY" --argjson s "$busy_size" --arg os "${p%/*}" --arg a "${p#*/}" \
      '{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,platform:{os:$os,architecture:$a}}')")
  done
  printf '%s\n' "${entries[@]}" | jq -cs '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:.}' \
    > "$WORK/index.json"
  curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary @"$WORK/index.json" \
    "http://$R/v2/x/multi/manifests/$tag" >/dev/null
}
put_index 1 linux/arm64 linux/amd64
put_index armonly linux/arm64
expect_error "--platform not in the index" "$R/x/multi:1" \
  "no linux/s390x image in the index \(it has: linux/arm64, linux/amd64\)" \
  "$MCPVM" pull --tls-verify=false --platform linux/s390x "$R/x/multi:1"
expect_ok "pull an index chooses linux/amd64" "$MCPVM" pull --tls-verify=false "$R/x/multi:1"
[ "$OUT" = "$R/x/multi:1 $BUSY" ] && pass "the index resolved to the amd64 manifest" || fail "index pull: $OUT"
expect_error "index without linux/amd64" "$R/x/multi:armonly" \
  "^mcpvm: pulling $R/x/multi:armonly: no linux/amd64 image in the index \(it has: linux/arm64\)$" \
  "$MCPVM" pull --tls-verify=false "$R/x/multi:armonly"
"$MCPVM" rmi "$R/x/multi:1" >/dev/null || true

# ---------- bad input ----------
C1=$(mk_unique corrupt); push "$WORK/layout:corrupt" "$R/bad/corrupt:1"
blob=$(registry_blob "$REG_open_STORAGE" "$(layer_of "$C1")")
size=$(stat -c %s "$blob"); head -c "$size" /dev/urandom > "$blob"
L=$(layer_of "$C1")
expect_error "a layer whose bytes do not match its digest" "$R/bad/corrupt:1" \
  "^mcpvm: pulling $R/bad/corrupt:1: layer ${L:0:19}…: does not match its digest$" \
  "$MCPVM" pull --tls-verify=false "$R/bad/corrupt:1"
[ ! -e "$MCPVM_HOME/blobs/sha256/${L#sha256:}" ] && pass "the corrupt layer is not in the store" || fail "corrupt layer stored"

C2=$(mk_unique trunc); push "$WORK/layout:trunc" "$R/bad/trunc:1"
blob=$(registry_blob "$REG_open_STORAGE" "$(layer_of "$C2")"); truncate -s 1000 "$blob"
expect_error "a truncated layer" "$R/bad/trunc:1" "pulling $R/bad/trunc:1: layer sha256:[0-9a-f]{12}…: " \
  "$MCPVM" pull --tls-verify=false "$R/bad/trunc:1"

# What a real registry cannot be made to do, from a misbehaving front (registry/hostile-proxy.js).
start_hostile "$R"
H=$HOSTILE
expect_error "a manifest over 4 MiB" "$H/huge/x:1" \
  "^mcpvm: pulling $H/huge/x:1: manifest 1: the response is larger than 4194304 bytes$" \
  "$MCPVM" pull --tls-verify=false "$H/huge/x:1"
expect_error "a schema 1 manifest" "$H/schema1/x:1" \
  "^mcpvm: pulling $H/schema1/x:1: schema 1 manifests are not supported: push the image again with a current docker or skopeo$" \
  "$MCPVM" pull --tls-verify=false "$H/schema1/x:1"
push "$WORK/layout:1" "$R/flaky/busy:1"
expect_ok "503s are retried with backoff" "$MCPVM" pull --tls-verify=false "$H/flaky/busy:1"
[ "$(grep -c " 3$" "$WORK/hostile-port.log")" -ge 3 ] && pass "manifest, config and layer each succeeded on the 3rd try" ||
  fail "retries: $(cat "$WORK/hostile-port.log")"

# A manifest whose layer has a media type we cannot unpack.
jq -c '.layers[0].mediaType = "application/x-unknown-layer"' "$WORK/layout/blobs/sha256/${BUSY#sha256:}" > "$WORK/odd.json"
push "$WORK/layout:1" "$R/bad/odd:base"
curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @"$WORK/odd.json" \
  "http://$R/v2/bad/odd/manifests/1" >/dev/null
expect_error "an unknown layer media type" "$R/bad/odd:1" \
  "^mcpvm: pulling $R/bad/odd:1: unknown layer media type \"application/x-unknown-layer\"$" \
  "$MCPVM" pull --tls-verify=false "$R/bad/odd:1"

expect_error "a tag that does not exist" "$R/x/busy:nope" "^mcpvm: pulling $R/x/busy:nope: manifest nope of $R/x/busy not found \(404\)$" \
  "$MCPVM" pull --tls-verify=false "$R/x/busy:nope"
dead=$(free_port)
expect_error "an unreachable registry" "" "^mcpvm: pulling 127.0.0.1:$dead/x:1: registry 127.0.0.1:$dead is unreachable: " \
  "$MCPVM" pull --tls-verify=false "127.0.0.1:$dead/x:1"
expect_error "a malformed reference" "" '^mcpvm: pulling Bad/Ref:1: invalid reference "Bad/Ref:1": the repository name must be lowercase$' \
  "$MCPVM" pull "Bad/Ref:1"
expect_error "https against a plain-http registry" "$R/x/busy:1" "^mcpvm: pulling $R/x/busy:1: " \
  "$MCPVM" pull --parallel 1 "$R/x/busy:1"

# ---------- import ----------
expect_ok "import an OCI layout with --tag" "$MCPVM" import "$WORK/layout" --tag local/busy:1 --platform linux/amd64
expect_error "import a layout of several images without --tag" "" "has no full name \(only the tag" "$MCPVM" import "$WORK/layout"
skopeo copy --quiet --insecure-policy "oci:$WORK/layout:1" "docker-archive:$WORK/da.tar:arch/busy:7" >/dev/null
expect_ok "import a docker-archive" "$MCPVM" import "$WORK/da.tar"
[[ $OUT == "docker.io/arch/busy:7 sha256:"* ]] && pass "docker-archive named by its RepoTags" || fail "import printed: $OUT"
expect_ok "inspect the imported docker-archive" "$MCPVM" inspect-image --json arch/busy:7
[ "$(jq -c '.entrypoint' <<<"$OUT")" = '["/bin/sh"]' ] && pass "imported config is intact" || fail "imported config: $OUT"
gzip -c "$WORK/da.tar" > "$WORK/da.tar.gz"
expect_ok "import a gzip-compressed docker-archive with --tag" "$MCPVM" import "$WORK/da.tar.gz" --tag arch/busy:gz
tar -cf "$WORK/junk.tar" -C "$WORK/rootfs" etc
expect_error "import a tarball that is not an image" "" "^mcpvm: importing $WORK/junk.tar: not an image: " \
  "$MCPVM" import "$WORK/junk.tar"
head -c 1000 /dev/urandom > "$WORK/random.bin"
expect_error "import random bytes" "" "^mcpvm: importing $WORK/random.bin: not an image: " "$MCPVM" import "$WORK/random.bin"
# A docker-archive whose layer was altered after the config recorded its diff_id.
mkdir -p "$WORK/da" && tar -xf "$WORK/da.tar" -C "$WORK/da"
layer=$(jq -r '.[0].Layers[0]' "$WORK/da/manifest.json"); echo extra >> "$WORK/da/$layer"
tar -cf "$WORK/da-bad.tar" -C "$WORK/da" .
expect_error "import a docker-archive with an altered layer" "docker.io/arch/bad:1" "does not match the config's diff_id$" \
  "$MCPVM" import "$WORK/da-bad.tar" --tag arch/bad:1
# An OCI layout with a corrupted blob, and one whose blob is a symlink out of the layout.
cp -r "$WORK/layout" "$WORK/layout-bad"
echo corrupt >> "$WORK/layout-bad/blobs/sha256/$(layer_of "$BUSY" | cut -d: -f2)"
export MCPVM_HOME=$WORK/home-fresh
expect_error "import a layout with a corrupt layer" "docker.io/local/bad:1" ": does not match its digest$|is larger than" \
  "$MCPVM" import "$WORK/layout-bad" --tag local/bad:1
cp -r "$WORK/layout" "$WORK/layout-link"
l=$(layer_of "$BUSY" | cut -d: -f2); rm "$WORK/layout-link/blobs/sha256/$l"; ln -s /etc/passwd "$WORK/layout-link/blobs/sha256/$l"
expect_error "import a layout whose blob is a symlink" "docker.io/local/link:1" "is a symlink or leaves the directory: refused$" \
  "$MCPVM" import "$WORK/layout-link" --tag local/link:1
export MCPVM_HOME=$WORK/home
expect_error "import a path that does not exist" "" "^mcpvm: importing $WORK/nope: no such file or directory$" "$MCPVM" import "$WORK/nope"

# ---------- basic auth ----------
start_registry basic basic
B=$REG_basic
push "$WORK/layout:1" "$B/sec/busy:1" --dest-creds tester:s3cret
expect_error "basic auth without credentials" "$B/sec/busy:1" \
  "^mcpvm: pulling $B/sec/busy:1: authentication required \(401\): give --creds USER:PASSWORD" \
  "$MCPVM" pull --tls-verify=false "$B/sec/busy:1"
expect_error "basic auth with wrong credentials" "$B/sec/busy:1" "^mcpvm: pulling $B/sec/busy:1: authentication failed \(401\)" \
  "$MCPVM" pull --tls-verify=false --creds tester:wrong "$B/sec/busy:1"
expect_ok "basic auth with --creds" "$MCPVM" pull --tls-verify=false --creds tester:s3cret "$B/sec/busy:1"
"$MCPVM" rmi "$B/sec/busy:1" >/dev/null
mkdir -p "$WORK/dc"; printf '{"auths":{"%s":{"auth":"%s"}}}' "$B" "$(printf tester:s3cret | base64)" > "$WORK/dc/config.json"
expect_ok "basic auth with credentials from docker config.json" env DOCKER_CONFIG="$WORK/dc" "$MCPVM" pull --tls-verify=false "$B/sec/busy:1"

# ---------- bearer tokens ----------
start_registry token token
T=$REG_token
push "$WORK/layout:1" "$T/public/busy:1" --dest-creds tester:s3cret
push "$WORK/layout:1" "$T/private/busy:1" --dest-creds tester:s3cret
expect_ok "anonymous bearer token flow" "$MCPVM" pull --tls-verify=false "$T/public/busy:1"
grep -q "^anonymous repository:public/busy:pull$" "$WORK/registry-token/token-port.log" &&
  pass "token server saw an anonymous pull scope" || fail "token log: $(cat "$WORK/registry-token/token-port.log")"
expect_error "bearer flow refused anonymously" "$T/private/busy:1" \
  "^mcpvm: pulling $T/private/busy:1: authentication failed \(401\): the token server refused anonymous access" \
  "$MCPVM" pull --tls-verify=false "$T/private/busy:1"
expect_error "bearer flow with wrong credentials" "$T/private/busy:1" \
  "authentication failed \(401\): the token server refused the credentials$" \
  "$MCPVM" pull --tls-verify=false --creds tester:nope "$T/private/busy:1"
expect_ok "bearer flow with credentials" "$MCPVM" pull --tls-verify=false --creds tester:s3cret "$T/private/busy:1"
grep -q "^tester repository:private/busy:pull$" "$WORK/registry-token/token-port.log" &&
  pass "token server saw the authenticated pull scope" || fail "token log: $(cat "$WORK/registry-token/token-port.log")"

no_temp_files && pass "no temp files anywhere in MCPVM_HOME at the end" || fail "temp files left"
echo "oci integration: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
