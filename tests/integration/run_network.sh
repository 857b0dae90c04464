#!/usr/bin/env bash
# `mcpvm run --foreground` with the network wired (docs/net.md): an imported busybox image boots on a
# UserNetwork. Checks, from inside the guest: DHCP gave 10.0.2.15 (default "network" profile); an
# --add-host name for the host's loopback (10.0.2.2) reaches a 127.0.0.1 HTTP server only with
# --allow-host-loopback; --network none leaves the guest without eth0. Only 127.0.0.1 is used on the host.
set -euo pipefail

bin=${MCPVM_BIN_DIR:?}
src=${MCPVM_SOURCE_DIR:?}
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
work=$(mktemp -d /tmp/mcpvm-run-net-test.XXXXXX)
export MCPVM_HOME=$work/home
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  pkill -9 -f -- "file=$work/" 2>/dev/null || true  # our own QEMUs only (their rootfs is under $work)
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_contains() { grep -qF -- "$2" <<<"$1" || fail "$3: [$2] not in [$1]"; }
expect_absent() { if grep -qF -- "$2" <<<"$1"; then fail "$3: [$2] in [$1]"; fi; }

# The image, through the store like a user's.
tree=$work/image-tree
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$tree" >/dev/null
bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout" run-net:1 --layer "$tree" \
  --entrypoint '["/bin/sh","-c"]' --cmd '["true"]' >/dev/null
"$bin/mcpvm" import "$work/layout" --tag run-net:1 >/dev/null 2>"$work/err" || fail "import: $(cat "$work/err")"

# The host's loopback HTTP server, on a free port it picks itself.
mkdir -p "$work/www"
echo host-loopback-secret >"$work/www/hello.txt"
python3 -c '
import http.server, os, sys
os.chdir(sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1])); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$work/www" "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port") || fail "the HTTP server did not start"

probe='ip -4 addr show eth0 2>&1; ls /sys/class/net; echo "ifaces=$(ls /sys/class/net | tr "\n" " ")";
addr=$(nslookup hostsrv 2>/dev/null | awk "/^Address/ {a=\$NF} END {print a}"); echo "hostsrv=$addr";
printf "GET /hello.txt HTTP/1.0\r\n\r\n" | nc -w 5 hostsrv '$port' 2>&1 | grep -q host-loopback-secret && echo FETCHED-host-loopback-secret || echo FETCH-FAILED
echo "nc-says: $(nc -w 5 hostsrv '$port' </dev/null 2>&1 | head -1)"'
# (nc as net_vm_test uses it: busybox-static's wget crashes in this guest.)

# run_vm NAME [mcpvm run options...]: the probe's output in $work/NAME.out
run_vm() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  "$bin/mcpvm" run --foreground run-net:1 "$@" -- "$probe" >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s" >&2
  [ "$rc" = 0 ] || fail "$name: exit code $rc: $(cat "$work/$name.err")"
}

# Three boots at once (each TCG boot is mostly waiting on one vCPU; the host is shared).
# (Options after the image: CLI11's repeatable options would take the image reference as a second value.)
run_vm default --add-host=hostsrv:10.0.2.2 &
p1=$!
run_vm loopback --add-host=hostsrv:10.0.2.2 --allow-host-loopback &
p2=$!
run_vm none --network none &
p3=$!
# A ToolHive profile with mounts: its network part applies, its read/write grants are announced as not applied.
echo '{"read":["/etc/hostname"],"write":["/tmp"],"network":{"outbound":{"insecure_allow_all":true}}}' \
  >"$work/profile.json"
run_vm profile --permission-profile "$work/profile.json" &
p4=$!
wait $p1 || exit 1
wait $p2 || exit 1
wait $p3 || exit 1
wait $p4 || exit 1

out=$(cat "$work/default.out")
expect_contains "$out" "inet 10.0.2.15/24" "default: DHCP address"
expect_contains "$out" "hostsrv=10.0.2.2" "default: --add-host name answered by our DNS"
expect_contains "$out" "FETCH-FAILED" "default: host loopback denied"
expect_absent "$out" "host-loopback-secret" "default: host loopback denied"
# The denied SYN is answered with a reset: connect() is refused at once instead of timing out.
expect_contains "$out" "nc-says: nc: can't connect to remote host (10.0.2.2): Connection refused" \
  "default: denied connect refused"

out=$(cat "$work/loopback.out")
expect_contains "$out" "inet 10.0.2.15/24" "--allow-host-loopback: DHCP address"
expect_contains "$out" "FETCHED-host-loopback-secret" "--allow-host-loopback: fetched from 127.0.0.1:$port"

out=$(cat "$work/none.out")
expect_contains "$out" "ifaces=lo " "--network none: only lo"
expect_absent "$out" "inet 10.0.2.15" "--network none"

out=$(cat "$work/profile.out")
expect_contains "$out" "inet 10.0.2.15/24" "profile file: DHCP address"
expect_contains "$(cat "$work/profile.err")" "read/write entries (2 paths) are not applied" "profile mounts warning"

# Exactly one request reached the server: the allowed one.
reqs=$(grep -c 'GET /hello.txt' "$work/server.log" || true)
[ "$reqs" = 1 ] || fail "the host server saw $reqs requests, expected 1: $(cat "$work/server.log")"
if pgrep -f -- "file=$work/" >/dev/null; then fail "a QEMU process was left behind"; fi
echo "ok: run_network"
