#!/usr/bin/env bash
# Boot benchmark: `mcpvm run --foreground` of a cached image to the server's first output, against bare
# QEMU booting the same kernel (same machine type, accel, memory, command line fixes) with a trivial
# init that prints one line. Same run, same accel, median of N (default 5). Target: overhead <= 10% + 50 ms.
#
# usage: bench/boot/run.sh BUILD_DIR [N]      (MCPVM_ACCEL=auto|kvm|tcg as for mcpvm; default auto)
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [N]}" && pwd)
runs=${2:-5}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bin
work=$(mktemp -d /tmp/mcpvm-bench-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MCPVM_HOME=$work/home

# The image: busybox, imported into the store; the first run builds and caches its rootfs.
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$work/tree" >/dev/null
bash "$src/tests/fixtures/make-oci-image.sh" "$work/layout" bench-boot:1 --layer "$work/tree" \
  --cmd '["/bin/echo","first"]' >/dev/null
"$bin/mcpvm" import "$work/layout" --tag bench-boot:1 >/dev/null
"$bin/mcpvm" run --foreground bench-boot:1 >/dev/null </dev/null 2>"$work/warm.err" || {
  cat "$work/warm.err" >&2
  exit 1
}

# What mcpvm chose, so the bare QEMU runs the same way; its /init prints one line, then resets.
source "$src/bench/lib/bare_qemu.sh"
bare_qemu_setup
export MCPVM_ACCEL=$accel
bare_initrd "$work/bare.cpio" $'/bin/busybox echo first\n/bin/busybox reboot -f'
bare_qemu_argv 512 "$work/bare.cpio"
bare=("${bare_qemu[@]}" -serial stdio)
ours=("$bin/mcpvm" run --foreground bench-boot:1)

python3 - "$runs" "$accel" "$work" <<'PY' "${bare[@]}" -- "${ours[@]}"
import os, statistics, subprocess, sys, time
runs, accel, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
sep = rest.index("--")
bare, ours = rest[:sep], rest[sep + 1:]

def first_output(cmd):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    for line in p.stdout:
        if b"first" in line:
            t = time.monotonic() - start
            break
    else:
        p.wait()
        raise SystemExit(f"no output from {cmd[0]}")
    p.stdout.read()
    p.wait()
    return t, time.monotonic() - start

results = {"bare qemu": [], "mcpvm run": []}
for _ in range(runs):  # interleaved, so load changes hit both alike
    results["bare qemu"].append(first_output(bare))
    results["mcpvm run"].append(first_output(ours))
med = {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in results.items()}
print(f"boot to first output, accel={accel}, median of {runs} (first output / process exit):")
for k, (a, b) in med.items():
    print(f"  {k:10s} {a*1000:8.0f} ms  / {b*1000:8.0f} ms   runs: " + " ".join(f"{x*1000:.0f}" for x, _ in results[k]))
b, o = med["bare qemu"][0], med["mcpvm run"][0]
print(f"  ratio mcpvm/bare: {o/b:.3f}   overhead: {(o-b)*1000:.0f} ms   target: <= {(b*0.10+0.05)*1000:.0f} ms")
# On a host shared with other VMs, whole runs land in a slow mode (this one varied 1.5-2.5 s for bare
# QEMU): the fastest runs of each side are the steadier comparison, shown beside the medians.
bm, om = min(a for a, _ in results["bare qemu"]), min(a for a, _ in results["mcpvm run"])
print(f"  fastest runs: bare {bm*1000:.0f} ms, mcpvm {om*1000:.0f} ms, overhead {(om-bm)*1000:.0f} ms, ratio {om/bm:.3f}")
if os.environ.get("MCPVM_BENCH_SUMMARY"):  # bench/lib/summary.sh
    with open(os.environ["MCPVM_BENCH_SUMMARY"], "a") as f:
        f.write(f"boot to first output, ms (median)\t{o*1000:.0f}\tbare qemu {b*1000:.0f}\t{o/b:.3f}\t"
                f"overhead <= {(b*0.10+0.05)*1000:.0f} ms\n")
PY
