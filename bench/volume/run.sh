#!/usr/bin/env bash
# bench/volume (issue 14, docs/volumes.md): a shared host directory through virtio-9p (mcpvm's volumes, with
# the 9p cache modes mmap (what mcpvm mounts) and loose) and through virtiofs (Debian's C virtiofsd, via
# qemu-bench.py), against the same files in the image's overlay rootfs and on the host itself, same run.
# Workloads: sequential read of a 64 MiB file, create 500 small files, an `ls -lR` stat walk of a 10,000-file
# tree, node `require` of a 1,000-module tree. ROUNDS rounds per variant in one boot; medians and minima in ms.
#
# usage: bench/volume/run.sh BUILD_DIR [ROUNDS]      (needs the guest kernel and node on the host)
set -euo pipefail
build=$(cd "${1:?usage: bench/volume/run.sh BUILD_DIR [ROUNDS]}" && pwd)
rounds=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg} MCPVM_BIN_DIR=$build/bin
work=$(mktemp -d /tmp/mcpvm-bench-vol-XXXXXX)
export MCPVM_HOME=$work/home
# (virtiofsd ends when its QEMU disconnects; every VM here is a foreground run that has ended)
trap 'rm -rf "$work"' EXIT
mcpvm=$build/bin/mcpvm

# The data set, once: on the host (shared) and in the image (overlay).
data=$work/share
mkdir -p "$data/tree" "$data/mods"
head -c $((64 << 20)) /dev/urandom >"$data/big"
for d in $(seq 100); do
  mkdir "$data/tree/d$d"
  for f in $(seq 100); do echo "$d $f" >"$data/tree/d$d/f$f"; done
done
python3 - "$data/mods" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(1000):
    with open(os.path.join(root, f"m{i}.js"), "w") as f:
        f.write(f"const base = {i};\nmodule.exports = function () {{ return base * 2; }};\n")
with open(os.path.join(root, "index.js"), "w") as f:
    f.write("let s = 0;\nfor (let i = 0; i < 1000; i++) s += require('./m' + i + '.js')();\nmodule.exports = s;\n")
PY
# The workloads on DIR (its files; writes go to DIR/c.N): "R variant workload ms" lines. /proc/uptime has
# 10 ms resolution; every workload takes far longer.
cat >"$work/workload.sh" <<'W'
ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
run() {  # VARIANT DIR ROUNDS
  r=1
  while [ $r -le $3 ]; do
    t=$(ms); cat "$2/big" >/dev/null; echo "R $1 seqread $(( $(ms) - t ))"
    mkdir -p "$2/c.$r"; t=$(ms); i=0
    while [ $i -lt 500 ]; do echo hello >"$2/c.$r/f$i"; i=$((i + 1)); done
    echo "R $1 create $(( $(ms) - t ))"
    t=$(ms); ls -lR "$2/tree" >/dev/null; echo "R $1 statwalk $(( $(ms) - t ))"
    t=$(ms); node -e 'require(process.argv[1])' "$2/mods" ; echo "R $1 require $(( $(ms) - t ))"
    rm -rf "$2/c.$r"; r=$((r + 1))
  done
}
W

rootfs=$work/rootfs
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$rootfs" >/dev/null
node_bin=$(readlink -f "$(command -v node)")
cp "$node_bin" "$rootfs/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do mkdir -p "$rootfs$(dirname "$lib")"; cp -L "$lib" "$rootfs$lib"; done
kmods=${MCPVM_KERNEL_MODULES:-$(ls -d /var/lib/mcpvm/kernel/current/lib/modules/* | head -1)}
cp -a "$data" "$rootfs/bench"
cp "$work/workload.sh" "$rootfs/workload.sh"
mksquashfs "$rootfs" "$work/img.sqfs" -quiet -noappend -all-root >/dev/null
echo '{"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/bin"]}' >"$work/img.json"


guest() {  # VARIANT-SETUP-SCRIPT [run options]
  local script=$1; shift
  "$mcpvm" run --foreground --network none --memory 1024 --rootfs "$work/img.sqfs" --image-config "$work/img.json" \
    "$@" x -- ". /workload.sh; $script" </dev/null
}

results=$work/results
{
  # The host itself, with the same busybox shell.
  busybox sh -c ". $work/workload.sh; run host $data $rounds"
  guest "run overlay /bench $rounds" | grep -o 'R .*' || true
  guest "run 9p-mmap /share $rounds" -v "$data:/share" | grep -o 'R .*' || true
  for variant in 9p-loose virtiofs; do
    MCPVM_QEMU=$here/qemu-bench.py MCPVM_BENCH_VOLUME=$variant MCPVM_BENCH_KMODS=$kmods/kernel/fs/fuse \
      guest "run $variant /share $rounds" -v "$data:/share" | grep -o 'R .*' || true
  done
} | tee "$results" >&2
python3 - "$results" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 4 and parts[0] == "R":
        rows[(parts[1], parts[2])].append(int(parts[3]))
variants = [v for v in ["host", "overlay", "9p-mmap", "9p-loose", "virtiofs"] if any(k[0] == v for k in rows)]
work = ["seqread", "create", "statwalk", "require"]
print(f"{'variant':10} {'workload':9} {'median ms':>10} {'min ms':>8} {'x overlay':>10} {'x host':>8}   (n={len(next(iter(rows.values())))})")
for v in variants:
    for w in work:
        xs = rows.get((v, w))
        if not xs:
            continue
        med = statistics.median(xs)
        ratio = lambda base: f"{med / statistics.median(rows[(base, w)]):.1f}" if rows.get((base, w)) else "-"
        print(f"{v:10} {w:9} {med:10.0f} {min(xs):8d} {ratio('overlay'):>10} {ratio('host'):>8}")
PY
