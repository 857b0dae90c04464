#!/usr/bin/env bash
# `mcpvm run` with the network wired (docs/net.md): an imported busybox image boots on a UserNetwork.
# Checks, from inside the guest: DHCP gave 10.0.2.15 (default "network" profile); an --add-host name for
# the host's loopback (10.0.2.2) reaches a 127.0.0.1 HTTP server only with --allow-host-loopback (not
# with --allow-private-network); --network none leaves the guest without eth0. Egress allowlists, from
# flags (a detached VM driven by `mcpvm exec` and `inspect`) and from a permission-profile file: the
# allowed name and port connect, another port, a name outside the list and a raw IP do not; `-p` forwards
# a host 127.0.0.1 port into the guest; a non-loopback `-p` and a mistyped profile are refused before any
# boot. Only 127.0.0.1 is used on the host.
set -euo pipefail

bin=${MCPVM_BIN_DIR:?}
src=${MCPVM_SOURCE_DIR:?}
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
work=$(mktemp -d /tmp/mcpvm-run-net-test.XXXXXX)
export MCPVM_HOME=$work/home
server_pids=()
cleanup() {
  "$bin/mcpvm" rm -f allow >/dev/null 2>&1 || true   # the detached VM, if a check failed before its rm
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -9 -f -- "file=$work/" 2>/dev/null || true  # our own QEMUs only (their rootfs is under $work)
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_contains() { grep -qF -- "$2" <<<"$1" || fail "$3: [$2] not in [$1]"; }
expect_absent() { if grep -qF -- "$2" <<<"$1"; then fail "$3: [$2] in [$1]"; fi; }
# Processes of ours still alive: a runner (`mcpvm __runner $MCPVM_HOME/vms/NAME`) or a QEMU (rootfs under $work).
our_vm_procs() { pgrep -f -- "$MCPVM_HOME/vms/|file=$work/" || true; }

# The image, through the store like a user's; the demo MCP server lets a detached VM become ready.
tree=$work/image-tree
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$tree" >/dev/null
install -D -m 0755 "$bin/mcpvm-demo-server" "$tree/usr/local/bin/mcpvm-demo-server"
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
server_pids+=($!)
# Two greeting servers for the allowlists: P1 (allowed) and P2 (not); each connection is logged "conn PORT".
python3 -c '
import os, socket, sys, threading
def serve(s, port):
    while True:
        c, _ = s.accept()
        print("conn", port, flush=True)
        c.sendall(b"greeting-%d\n" % port)
        c.close()
ports = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); ports.append(s.getsockname()[1])
    threading.Thread(target=serve, args=(s, ports[-1]), daemon=True).start()
open(sys.argv[1] + ".tmp", "w").write(" ".join(map(str, ports)) + "\n"); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Event().wait()' "$work/greet-ports" >"$work/greet.log" 2>&1 &
server_pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && [ -s "$work/greet-ports" ] && break; sleep 0.1; done
port=$(cat "$work/port") || fail "the HTTP server did not start"
read -r p1 p2 <"$work/greet-ports" || fail "the greeting servers did not start"
# A free host port for -p (bound and released: another process could take it, unlikely on loopback).
hp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
gp=8081

# --- refused by `run` before any boot: nothing created, no QEMU -------------------------------------------
refused() {  # NAME EXPECTED-TEXT [run options...]: a detached run that must fail with one line naming TEXT
  local name=$1 text=$2 rc=0 t0=$SECONDS
  shift 2
  "$bin/mcpvm" run --name "$name" run-net:1 "$@" -- true >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
  local err
  err=$(cat "$work/$name.err")
  [ "$rc" != 0 ] || fail "$name: run accepted $*"
  expect_contains "$err" "$text" "$name: the error names it"
  [ "$(wc -l <"$work/$name.err")" = 1 ] || fail "$name: not a one-line error: [$err]"
  [ ! -e "$MCPVM_HOME/vms/$name" ] || fail "$name: a VM directory was left: $(ls -A "$MCPVM_HOME/vms/$name")"
  [ $((SECONDS - t0)) -lt 5 ] || fail "$name: took $((SECONDS - t0)) s (a boot?)"
}
refused pub-any 'the host address must be a loopback address (127.0.0.1)' -p "0.0.0.0:$hp:$gp"
echo '{"network":{"outbound":{"allow_host":["ok.test"],"allow_port":"x"}}}' >"$work/bad-profile.json"
refused bad-profile 'network.outbound.allow_port: expected a list of ports' \
  --permission-profile "$work/bad-profile.json"
[ -z "$(ls -A "$MCPVM_HOME/vms" 2>/dev/null)" ] || fail "refused runs left VMs: $(ls -A "$MCPVM_HOME/vms")"
[ -z "$(our_vm_procs)" ] || fail "a refused run started a process: $(our_vm_procs)"

probe='ip -4 addr show eth0 2>&1; ls /sys/class/net; echo "ifaces=$(ls /sys/class/net | tr "\n" " ")";
addr=$(nslookup hostsrv 2>/dev/null | awk "/^Address/ {a=\$NF} END {print a}"); echo "hostsrv=$addr";
printf "GET /hello.txt HTTP/1.0\r\n\r\n" | nc -w 5 hostsrv '$port' 2>&1 | grep -q host-loopback-secret && echo FETCHED-host-loopback-secret || echo FETCH-FAILED
echo "nc-says: $(nc -w 5 hostsrv '$port' </dev/null 2>&1 | head -1)"'
# (nc as net_vm_test uses it: busybox-static's wget crashes in this guest.)
# Under an allowlist of ok.test (an --add-host name for 10.0.2.2) and port P1: "dns-NAME: ..." and
# "NAME-PORT: <first line nc read or said>" lines.
allow_probe='for n in ok.test no.test; do echo "dns-$n: $(nslookup $n 2>&1 | grep -E "NXDOMAIN|^Address: " | head -1)"; done
for p in '$p1' '$p2'; do echo "ok.test-$p: $(nc -w 5 ok.test $p </dev/null 2>&1 | head -1)"; done
echo "no.test-'$p1': $(nc -w 5 no.test '$p1' </dev/null 2>&1 | head -1)"
echo "hosts-no.test: $(grep -c no.test /etc/hosts)"'
# Under an allowlist that admits no address of the host's loopback (no allowed --add-host name on 10.0.2.2).
raw_probe='echo "dns-no.test: $(nslookup no.test 2>&1 | grep -E "NXDOMAIN|^Address: " | head -1)"
echo "no.test-'$p1': $(nc -w 5 no.test '$p1' </dev/null 2>&1 | head -1)"
echo "raw-'$p1': $(nc -w 5 10.0.2.2 '$p1' </dev/null 2>&1 | head -1)"'
refused_line() { echo "$1: nc: can't connect to remote host (10.0.2.2): Connection refused"; }

# run_vm NAME PROBE [mcpvm run options...]: the probe's output in $work/NAME.out
run_vm() {
  local name=$1 cmd=$2; shift 2
  local t0=$SECONDS rc=0
  "$bin/mcpvm" run --foreground run-net:1 "$@" -- "$cmd" >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s" >&2
  [ "$rc" = 0 ] || fail "$name: exit code $rc: $(cat "$work/$name.err")"
}

# All boots at once (each TCG boot is mostly waiting on one vCPU; the host is shared).
# (Options after the image: CLI11's repeatable options would take the image reference as a second value.)
pids=()
run_vm default "$probe" --add-host=hostsrv:10.0.2.2 &
pids+=($!)
run_vm loopback "$probe" --add-host=hostsrv:10.0.2.2 --allow-host-loopback &
pids+=($!)
run_vm none "$probe" --network none &
pids+=($!)
# A ToolHive profile file (its read/write mounts are run_volumes.sh's business). With --allow-private-network
# the host's loopback stays denied (it needs --allow-host-loopback).
echo '{"network":{"outbound":{"insecure_allow_all":true}}}' \
  >"$work/profile.json"
run_vm profile "$probe" --permission-profile "$work/profile.json" --add-host=hostsrv:10.0.2.2 \
  --allow-private-network &
pids+=($!)
# An allowlist from a profile file.
echo '{"network":{"outbound":{"insecure_allow_all":false,"allow_host":["ok.test"],"allow_port":['"$p1"']}}}' \
  >"$work/allow-profile.json"
run_vm allow-profile "$allow_probe" --permission-profile "$work/allow-profile.json" \
  --add-host=ok.test:10.0.2.2 --add-host=no.test:10.0.2.2 --allow-host-loopback &
pids+=($!)
# An allowlist whose only --add-host name is not allowed: 10.0.2.2 is never admitted.
run_vm raw-ip "$raw_probe" --allow-host ok.test --allow-port "$p1" --add-host=no.test:10.0.2.2 \
  --allow-host-loopback &
pids+=($!)
# The allowlist from flags plus a -p forward, detached: a greeting server on the guest's port $gp.
t0=$SECONDS
"$bin/mcpvm" run --name allow run-net:1 --allow-host ok.test --allow-port "$p1" --add-host ok.test:10.0.2.2 \
  --add-host no.test:10.0.2.2 --allow-host-loopback -p "127.0.0.1:$hp:$gp" -- \
  'while true; do echo guest-greeting | nc -l -p '$gp'; done </dev/null >/dev/null 2>&1 & exec /usr/local/bin/mcpvm-demo-server' \
  >"$work/allow.run" 2>&1 </dev/null || fail "run --name allow: $(cat "$work/allow.run")"
echo "allow: ready in $((SECONDS - t0)) s" >&2
denied() { "$bin/mcpvm" inspect allow | jq -r ".network.counters.denied.$1 // 0"; }
port_before=$(denied port)
dns_before=$(denied dns_name)
"$bin/mcpvm" exec allow -- sh -c "$allow_probe" >"$work/allow.out" 2>&1 || fail "exec allow: $(cat "$work/allow.out")"
# -p: the host's 127.0.0.1:$hp reaches the guest's listener.
fwd=$(timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$hp"'; cat <&3' 2>&1) || true
for _ in $(seq 30); do  # the runner saves the counters within a second of a change
  [ "$(denied port)" -gt "$port_before" ] && [ "$(denied dns_name)" -gt "$dns_before" ] && break
  sleep 0.2
done
"$bin/mcpvm" inspect allow >"$work/allow.inspect"
"$bin/mcpvm" rm -f allow >/dev/null || fail "rm -f allow"
for p in "${pids[@]}"; do wait "$p" || exit 1; done

out=$(cat "$work/default.out")
expect_contains "$out" "inet 10.0.2.15/24" "default: DHCP address"
expect_contains "$out" "hostsrv=10.0.2.2" "default: --add-host name answered by our DNS"
expect_contains "$out" "FETCH-FAILED" "default: host loopback denied"
expect_absent "$out" "host-loopback-secret" "default: host loopback denied"
# The denied SYN is answered with a reset: connect() is refused at once instead of timing out.
expect_contains "$out" "$(refused_line nc-says)" "default: denied connect refused"

out=$(cat "$work/loopback.out")
expect_contains "$out" "inet 10.0.2.15/24" "--allow-host-loopback: DHCP address"
expect_contains "$out" "FETCHED-host-loopback-secret" "--allow-host-loopback: fetched from 127.0.0.1:$port"

out=$(cat "$work/none.out")
expect_contains "$out" "ifaces=lo " "--network none: only lo"
expect_absent "$out" "inet 10.0.2.15" "--network none"

out=$(cat "$work/profile.out")
expect_contains "$out" "inet 10.0.2.15/24" "profile file: DHCP address"
expect_contains "$out" "FETCH-FAILED" "--allow-private-network: host loopback still denied"
expect_contains "$out" "$(refused_line nc-says)" "--allow-private-network: host loopback connect refused"

# The allowlists: ok.test:P1 connects and reads the greeting; ok.test:P2 is refused; no.test is NXDOMAIN.
for vm in allow allow-profile; do
  out=$(cat "$work/$vm.out")
  expect_contains "$out" "dns-ok.test: Address: 10.0.2.2" "$vm: the allowed --add-host name resolves"
  expect_contains "$out" "dns-no.test: ** server can't find no.test: NXDOMAIN" "$vm: a name outside the list"
  expect_contains "$out" "ok.test-$p1: greeting-$p1" "$vm: allowed name and port connect"
  expect_contains "$out" "$(refused_line "ok.test-$p2")" "$vm: allowed name, other port refused"
  expect_absent "$out" "greeting-$p2" "$vm: other port"
  # A denied --add-host name is not in /etc/hosts either: it resolves nowhere, even where its IP is
  # admitted through an allowed name.
  expect_contains "$out" "hosts-no.test: 0" "$vm: /etc/hosts leaves out the denied name"
  expect_contains "$out" "no.test-$p1: nc: bad address 'no.test'" "$vm: the denied name does not resolve for nc"
done
out=$(cat "$work/raw-ip.out")
expect_contains "$out" "dns-no.test: ** server can't find no.test: NXDOMAIN" "raw-ip: a name outside the list"
expect_contains "$out" "no.test-$p1: nc: bad address 'no.test'" "raw-ip: a name outside the list cannot connect"
expect_contains "$out" "$(refused_line "raw-$p1")" "raw-ip: a raw IP connect is refused"
expect_absent "$out" "greeting-" "raw-ip: nothing connected"

# inspect of the detached VM: its policy and the denials it counted.
j=$(cat "$work/allow.inspect")
jq -e '.network.summary.egress.mode == "allowlist" and .network.summary.egress.allow_host == ["ok.test"]
  and .network.summary.egress.allow_port == ['"$p1"']' <<<"$j" >/dev/null \
  || fail "inspect: the allowlist policy: $(jq -c .network.summary <<<"$j")"
jq -e '.network.summary.publish == [{"host": "127.0.0.1:'"$hp"'", "guest_port": '"$gp"'}]' <<<"$j" >/dev/null \
  || fail "inspect: the -p forward: $(jq -c .network.summary.publish <<<"$j")"
counters=$(jq -c .network.counters <<<"$j")
jq -e ".network.counters.denied.port > $port_before" <<<"$j" >/dev/null \
  || fail "inspect: denied port did not rise from $port_before: $counters"
jq -e ".network.counters.denied.dns_name > $dns_before" <<<"$j" >/dev/null \
  || fail "inspect: denied dns_name did not rise from $dns_before: $counters"
jq -e '.network.counters.allowed.tcp_connect >= 1' <<<"$j" >/dev/null || fail "inspect: no allowed tcp_connect: $counters"
expect_contains "$fwd" "guest-greeting" "-p 127.0.0.1:$hp:$gp: the host reached the guest's listener"

# Exactly one request reached the HTTP server: the allowed one. The greeting servers saw the two allowed
# connections (allow, allow-profile) on P1 and none on P2.
reqs=$(grep -c 'GET /hello.txt' "$work/server.log" || true)
[ "$reqs" = 1 ] || fail "the host server saw $reqs requests, expected 1: $(cat "$work/server.log")"
c1=$(grep -cx "conn $p1" "$work/greet.log" || true)
c2=$(grep -cx "conn $p2" "$work/greet.log" || true)
[ "$c1" = 2 ] && [ "$c2" = 0 ] || fail "greeting servers: $c1 connections on P1 (expected 2), $c2 on P2 (expected 0)"
for _ in $(seq 50); do [ -z "$(our_vm_procs)" ] && break; sleep 0.1; done
[ -z "$(our_vm_procs)" ] || fail "a runner or QEMU process was left behind: $(our_vm_procs)"
[ ! -e "$MCPVM_HOME/vms/allow" ] || fail "rm -f left the VM directory"
echo "ok: run_network"
