#!/usr/bin/env bash
# `mcpvm exec` numbers under TCG, with the peer measured in the same run: the server's own stdout
# virtio-serial port (run --foreground), which carries raw bytes on a port of its own, against exec's
# stdout multiplexed on the ctl port (framed, windowed, base64 JSON lines between runner and CLI).
#
# usage: bench/exec/run.sh BUILD_DIR [MiB]     (needs the guest kernel: scripts/fetch-kernel.sh)
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [MiB]}" && pwd)
mib=${2:-16}
src=$(cd "$(dirname "$0")/../.." && pwd)
mcpvm=$build/bin/mcpvm
export MCPVM_BIN_DIR=$build/bin
work=$(mktemp -d /tmp/mcpvm-bx-XXXXXX)
export MCPVM_HOME=$work/home
trap '"$mcpvm" rm -f bx >/dev/null 2>&1 || true; rm -rf "$work"' EXIT  # (set -e would stop the trap at a failing rm)

bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$work/rootfs" >/dev/null
install -D -m 0755 "$build/bin/mcpvm-demo-server" "$work/rootfs/usr/local/bin/mcpvm-demo-server"
mksquashfs "$work/rootfs" "$work/r.sqfs" -quiet -noappend -all-root >/dev/null
echo '{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "Env": ["PATH=/usr/local/bin:/bin"]}' > "$work/demo.json"
echo '{"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/bin"]}' > "$work/sh.json"
bytes=$((mib * 1048576))
now() { date +%s.%N; }
rate() { awk "BEGIN{printf \"%.1f\", $mib / ($2 - $1)}"; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$mcpvm" run --name bx --rootfs "$work/r.sqfs" --image-config "$work/demo.json" x >/dev/null 2>&1
for i in 1 2 3; do
  t0=$(now); "$mcpvm" exec bx -- true; t1=$(now)
  echo "exec true: $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}") s"
done
t0=$(now); n=$("$mcpvm" exec bx -- head -c $bytes /dev/zero | wc -c); t1=$(now)
[ "$n" -eq $bytes ] || { echo "exec stdout: $n of $bytes bytes"; exit 1; }
exec_rate=$(rate "$t0" "$t1")
echo "exec stdout ($mib MiB): $exec_rate MiB/s"
head -c $bytes /dev/zero > "$work/z"
t0=$(now); n=$("$mcpvm" exec -i bx -- wc -c < "$work/z" | tr -d ' '); t1=$(now)
[ "$n" -eq $bytes ] || { echo "exec stdin: $n of $bytes bytes"; exit 1; }
echo "exec stdin ($mib MiB): $(rate "$t0" "$t1") MiB/s"
"$mcpvm" rm -f bx >/dev/null

# Peer: the same bytes on the server's stdout port; boot time subtracted (a run of `true` just before).
fg() { "$mcpvm" run --foreground --rootfs "$work/r.sqfs" --image-config "$work/sh.json" x -- "$1" 2>/dev/null; }
t0=$(now); fg true; t1=$(now); n=$(fg "head -c $bytes /dev/zero" | wc -c); t2=$(now)
[ "$n" -eq $bytes ] || { echo "foreground stdout: $n of $bytes bytes"; exit 1; }
peer_rate=$(awk "BEGIN{printf \"%.1f\", $mib / (($t2 - $t1) - ($t1 - $t0))}")
echo "peer: server stdout port ($mib MiB, boot $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s subtracted): $peer_rate MiB/s"
source "$src/bench/lib/summary.sh"
bench_row "exec stdout, MiB/s" "$exec_rate" "server stdout port $peer_rate" "$(awk "BEGIN{printf \"%.2f\", $exec_rate / $peer_rate}")" "-"
