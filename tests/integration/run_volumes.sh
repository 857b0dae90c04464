#!/usr/bin/env bash
# Volumes (issue 14, docs/volumes.md) under TCG with real QEMU 9p servers:
#   refused  bad specs fail with one-line errors before any boot (nothing created, no process)
#   ro       the guest (root) reads; every kind of write fails, also after `mount -o remount,rw`; the host
#            tree is byte-identical afterwards (tests/fixtures/tree_hash.py)
#   hostonly the same writes against a volume the guest mounted read-write but QEMU serves readonly=on
#            (tests/fixtures/qemu-force-readonly.sh): the host's enforcement alone stops them all
#   rw       a non-root server user (uid 1000) creates, modifies and deletes; the host sees it, owned by the
#            invoking user
#   escape   symlinks planted by the host before start and by the guest (to /etc, .., an absolute host path)
#            and a host that keeps swapping a shared directory for a symlink while the guest walks it: nothing
#            outside the share is read or written
#   profile  a ToolHive permission profile's read/write entries become mounts; write upgrades read
#   detached volumes survive stop/start/restart; inspect shows each mount and its enforcement; a start after a
#            volume's directory went away fails naming it
#
# usage: run_volumes.sh BUILD_DIR [SCENARIO...]     (needs the guest kernel: scripts/fetch-kernel.sh)
set -uo pipefail
build=$(cd "${1:?usage: run_volumes.sh BUILD_DIR}" && pwd)
shift
src=${MCPVM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tests/integration/vm_test_lib.sh"
vm_test_setup vol
export MCPVM_ACCEL=${MCPVM_ACCEL:-tcg}
scenarios=${*:-refused ro hostonly rw escape profile detached}
me=$(id -u)

# --- fixtures: busybox + the demo MCP server + vol-probe (setxattr), as a squashfs ------------------------
rootfs=$work/rootfs
bash "$src/tests/fixtures/make-busybox-rootfs.sh" "$rootfs" >/dev/null
install -D -m 0755 "$build/bin/mcpvm-demo-server" "$rootfs/usr/local/bin/mcpvm-demo-server"
cc -static -Os -o "$rootfs/usr/local/bin/vol-probe" "$src/tests/fixtures/vol_probe.c" || { echo "cc failed"; exit 1; }
mksquashfs "$rootfs" "$work/img.sqfs" -quiet -noappend -all-root >/dev/null || { echo "mksquashfs failed"; exit 1; }
cat >"$work/root.json" <<'J'
{"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/usr/local/bin:/bin"]}
J
cat >"$work/app.json" <<'J'
{"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/usr/local/bin:/bin"], "User": "app"}
J
cat >"$work/demo.json" <<'J'
{"Entrypoint": ["/usr/local/bin/mcpvm-demo-server"], "Env": ["PATH=/usr/local/bin:/bin"], "User": "app"}
J
hash_tree() { python3 "$src/tests/fixtures/tree_hash.py" "$1"; }
secret=HOST-SECRET-$RANDOM$RANDOM
pwn=mcpvm-vol-pwn-$$

# The host side: a read-only tree, a writable one, and a directory outside both that must stay untouched.
mkdir -p "$work/ro/sub" "$work/ro/empty" "$work/rw/keep" "$work/outside"
echo ro-content >"$work/ro/a.txt"
echo ro-b >"$work/ro/sub/b.txt"
echo keep-me >"$work/rw/keep/k.txt"
echo "$secret" >"$work/outside/secret.txt"
for d in ro rw; do  # symlinks planted by the host before start
  ln -s /etc "$work/$d/h-etc"
  ln -s .. "$work/$d/h-up"
  ln -s "$work/outside" "$work/$d/h-abs"
done

net=(--network none)  # the VMs need no network (a profile file needs one: scenario_profile)
# run_fg NAME CONFIG SCRIPT [run options...]: a foreground run; output in $work/NAME.out, exit code in NAME.rc
run_fg() {
  local name=$1 config=$2 script=$3 rc=0 t0=$SECONDS
  shift 3
  "$mcpvm" run --foreground "${net[@]}" --rootfs "$work/img.sqfs" --image-config "$work/$config" "$@" x -- \
    "$script" >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
  echo "$rc" >"$work/$name.rc"
  log "$name: exit $rc in $((SECONDS - t0)) s"
}
has() { grep -qF -- "$2" "$work/$1.out"; }

scenario_refused() {
  log "== refused: bad specs, before any boot"
  touch "$work/a-file"
  refused() {  # NAME TEXT [run options...]
    local name=$1 text=$2 rc=0 t0=$SECONDS
    shift 2
    "$mcpvm" run --name "$name" --rootfs "$work/img.sqfs" --image-config "$work/demo.json" "$@" x \
      >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
    check '[ "$rc" != 0 ]' "$name: refused"
    check 'grep -qF -- "$text" "$work/$name.err"' "$name: the error says [$text]: $(cat "$work/$name.err")"
    check '[ "$(wc -l <"$work/$name.err")" = 1 ]' "$name: a one-line error"
    check '[ ! -e "$MCPVM_HOME/vms/$name" ]' "$name: no VM directory"
    check '[ $((SECONDS - t0)) -lt 5 ]' "$name: no boot"
  }
  refused missing 'it must exist' -v "$work/nope:/data"
  refused rw-ro 'expected PATH, HOST:GUEST or HOST:GUEST:ro' -v "$work/ro:/data:rw:ro"
  refused bad-mode 'expected PATH, HOST:GUEST or HOST:GUEST:ro' -v "$work/ro:/data:rx"
  refused relative-guest 'must be absolute' -v "$work/ro:data"
  refused over-proc 'guest path /proc/x is not allowed' -v "$work/ro:/proc/x"
  refused over-root 'guest path / is not allowed' -v "$work/ro:/"
  refused over-init 'guest path /mcpvm is not allowed' -v "$work/ro:/mcpvm"
  refused dotdot "must not contain '..'" -v "$work/ro:/data/../etc"
  refused a-file 'is not a directory' -v "$work/a-file:/data"
  refused two-hosts 'two volumes at guest path /data' -v "$work/ro:/data" -v "$work/rw:/data"
  echo '{"read": ["'"$work"'/nope:/x"]}' >"$work/bad-profile.json"
  refused bad-profile 'read "'"$work"'/nope:/x"' --permission-profile "$work/bad-profile.json"
  echo '{"write": ["'"$work"'/rw:/x:ro"]}' >"$work/ro-write-profile.json"
  refused ro-write 'a writable entry cannot end in :ro' --permission-profile "$work/ro-write-profile.json"
  check '[ -z "$(ls -A "$MCPVM_HOME/vms" 2>/dev/null)" ]' "refused runs left no VM"
  check '! pgrep -f -- "$work/img.sqfs" >/dev/null' "refused runs started no QEMU"
}

# Every write, as root in the guest; "WROTE op" for each that succeeded.
ro_script='try() { if sh -c "$2" >/dev/null 2>&1; then echo "WROTE $1"; else echo "DENIED $1"; fi; }
echo "read: $(cat /ro/a.txt) $(cat /ro/sub/b.txt)"
echo "mounted: $(grep " /ro " /proc/mounts)"
ops() {
try create "echo x > /ro/new"
try append "echo x >> /ro/a.txt"
try truncate "truncate -s 0 /ro/a.txt"
try truncate-open ": > /ro/a.txt"
try rename "mv /ro/a.txt /ro/renamed"
try rename-dir "mv /ro/sub /ro/sub2"
try unlink "rm -f /ro/sub/b.txt"
try rmdir "rmdir /ro/empty"
try chmod "chmod 777 /ro/a.txt"
try chown "chown 1000:1000 /ro/a.txt"
try utime "touch -t 200101010000 /ro/a.txt"
try mkdir "mkdir /ro/newdir"
try symlink "ln -s a.txt /ro/lnk"
try hardlink "ln /ro/a.txt /ro/hard"
try mknod "mknod /ro/null c 1 3"
try mkfifo "mkfifo /ro/fifo"
try setxattr "vol-probe setxattr /ro/a.txt"
try write-via-link "echo x > /ro/h-up/ro/new-via-up"
}
ops
# The server has the docker default capabilities (no CAP_SYS_ADMIN): refused here; hostonly covers a rw mount.
if mount -o remount,rw /ro 2>/dev/null; then echo "remount: guest allowed it"; else echo "remount: refused"; fi
echo "after remount: $(grep " /ro " /proc/mounts)"
ops | sed "s/^/after-remount /"
echo "read again: $(cat /ro/a.txt)"'

scenario_ro() {
  log "== ro: reads work, every write fails, the host tree is unchanged"
  local before after
  before=$(hash_tree "$work/ro")
  run_fg ro root.json "$ro_script" -v "$work/ro:/ro:ro"
  after=$(hash_tree "$work/ro")
  check '[ "$(cat "$work/ro.rc")" = 0 ]' "ro: the run succeeded: $(cat "$work/ro.err")"
  check 'has ro "read: ro-content ro-b"' "ro: the guest reads the files"
  check 'grep -q "mounted: .* ro," "$work/ro.out"' "ro: mounted read-only in the guest (MS_RDONLY)"
  check '[ "$(grep -c "^DENIED " "$work/ro.out")" = 18 ]' "ro: all 18 writes denied"
  check 'has ro "remount: refused"' "ro: the server cannot remount (no CAP_SYS_ADMIN)"
  check '[ "$(grep -c "^after-remount DENIED " "$work/ro.out")" = 18 ]' "ro: all 18 denied after the remount attempt"
  check '! grep -q WROTE "$work/ro.out"' "ro: no write succeeded: $(grep WROTE "$work/ro.out" | tr '\n' ' ')"
  check 'has ro "read again: ro-content"' "ro: still readable"
  check '[ "$before" = "$after" ]' "ro: the host tree is byte-identical (tree_hash)"
}

scenario_hostonly() {
  log "== hostonly: the guest mounts the volume read-write, QEMU alone refuses every write"
  local before
  before=$(hash_tree "$work/ro")
  MCPVM_QEMU=$src/tests/fixtures/qemu-force-readonly.sh run_fg hostonly root.json "$ro_script" -v "$work/ro:/ro"
  check '[ "$(cat "$work/hostonly.rc")" = 0 ]' "hostonly: the run succeeded: $(cat "$work/hostonly.err")"
  check 'grep -q "mounted: .* rw," "$work/hostonly.out"' "hostonly: the guest mount is read-write"
  check 'has hostonly "read: ro-content ro-b"' "hostonly: the guest reads the files"
  check '[ "$(grep -c "^DENIED " "$work/hostonly.out")" = 18 ]' "hostonly: all 18 writes denied by QEMU"
  check '! grep -q WROTE "$work/hostonly.out"' "hostonly: no write succeeded: $(grep WROTE "$work/hostonly.out" | tr '\n' ' ')"
  check '[ "$before" = "$(hash_tree "$work/ro")" ]' "hostonly: the host tree is byte-identical (tree_hash)"
}

rw_script='set -e
echo "whoami: $(id -u):$(id -g)"
echo created > /rw/new.txt
mkdir /rw/newdir && echo nested > /rw/newdir/n.txt
echo first > /rw/mod.txt && echo second >> /rw/mod.txt
echo doomed > /rw/gone.txt && rm /rw/gone.txt
cat /rw/keep/k.txt
echo RW-DONE'

scenario_rw() {
  log "== rw: a non-root server user writes; the host sees it, owned by the invoking user"
  run_fg rw app.json "$rw_script" -v "$work/rw:/rw"
  check '[ "$(cat "$work/rw.rc")" = 0 ]' "rw: the run succeeded: $(cat "$work/rw.out" "$work/rw.err" | tail -3)"
  check 'has rw "whoami: 1000:1000"' "rw: the server ran as uid 1000"
  check 'has rw "RW-DONE"' "rw: every write worked"
  check '[ "$(cat "$work/rw/new.txt")" = created ]' "rw: a created file is on the host"
  check '[ "$(cat "$work/rw/newdir/n.txt")" = nested ]' "rw: a created directory and file are on the host"
  check '[ "$(cat "$work/rw/mod.txt")" = "first
second" ]' "rw: an appended file has both lines on the host"
  check '[ ! -e "$work/rw/gone.txt" ]' "rw: a deleted file is gone on the host"
  check '[ "$(stat -c %u "$work/rw/new.txt")" = "$me" ] && [ "$(stat -c %u "$work/rw/newdir")" = "$me" ]' \
    "rw: created files are owned by the invoking user (uid $me) on the host"
  check '[ "$(stat -c %u "$work/rw")" = "$me" ]' "rw: the share root keeps its host owner"
}

escape_script='p() { echo "$1: $(sh -c "$2" 2>&1 | head -2 | tr "\n" " ")"; }
for d in ro rw; do
  p "$d-h-etc-read" "cat /$d/h-etc/hostname"
  p "$d-h-up-read" "cat /$d/h-up/outside/secret.txt"
  p "$d-h-abs-read" "cat /$d/h-abs/secret.txt"
  p "$d-h-abs-ls" "ls /$d/h-abs/"
done
p rw-h-abs-write "echo pwn > /rw/h-abs/pwned"
p rw-h-up-write "echo pwn > /rw/h-up/outside/pwned"
p rw-h-up-mkdir "mkdir /rw/h-up/pwndir"
p rw-dotdot "cat /rw/../rw/../../outside/secret.txt"
# Planted by the guest: they resolve in the guest (its /etc, its parent of /rw), never on the host.
ln -s /etc /rw/g-etc; ln -s .. /rw/g-up; ln -s '"$work"'/outside /rw/g-abs
p rw-g-etc-write "echo pwn > /rw/g-etc/'"$pwn"'"
p rw-g-abs-read "cat /rw/g-abs/secret.txt"
p rw-g-abs-write "echo pwn > /rw/g-abs/pwned"
p rw-g-up-read "ls /rw/g-up/"
echo ESCAPE-DONE'

# The race: the host swaps /rw/race (a directory with f=inside) for a symlink to $work/outside as fast as it
# can, while the guest reads and writes through the path.
race_script='i=0; while [ $i -lt 300 ]; do cat /rw/race/f /rw/race/secret.txt 2>/dev/null; echo x > /rw/race/w$i 2>/dev/null; ls /rw/race/ >/dev/null 2>&1; i=$((i+1)); done; echo RACE-DONE'

scenario_escape() {
  log "== escape: symlinks planted by the host and the guest, and a swap race"
  local outside_before after_outside
  mkdir -p "$work/rw/race" && echo inside >"$work/rw/race/f"
  outside_before=$(hash_tree "$work/outside")
  run_fg escape root.json "$escape_script" -v "$work/ro:/ro:ro" -v "$work/rw:/rw"
  check '[ "$(cat "$work/escape.rc")" = 0 ] && has escape ESCAPE-DONE' "escape: the run finished: $(tail -3 "$work/escape.err")"
  check '! has escape "$secret"' "escape: no symlink read the host's secret outside the share"
  check '[ "$(hash_tree "$work/outside")" = "$outside_before" ]' "escape: the host directory outside the share is unchanged"
  check '[ ! -e "/etc/$pwn" ] && [ ! -e "$work/pwndir" ] && [ ! -e "$work/outside/pwned" ]' "escape: nothing written outside the share"
  check '[ ! -L "$work/rw/g-abs" ] && [ ! -L "$work/rw/g-etc" ] && [ ! -L "$work/rw/g-up" ]' \
    "escape: guest symlinks are not host symlinks (mapped-xattr stores them as files)"
  # The guest's symlinks, seen by a second VM: still nothing from outside.
  run_fg escape2 root.json 'cat /rw/g-abs/secret.txt; ls /rw/g-up/; readlink /rw/g-abs; echo AGAIN-DONE' -v "$work/rw:/rw"
  check 'has escape2 AGAIN-DONE && ! has escape2 "$secret"' "escape: a later VM does not follow them out either"
  check 'has escape2 "$work/outside"' "escape: the guest's symlink reads back as written (in the guest)"

  python3 - "$work/rw" "$work/outside" "$work/race-stop" <<'PY' &
import os, sys, time
rw, outside, stop = sys.argv[1:]
d, tmp, link = os.path.join(rw, "race"), os.path.join(rw, "race.real"), os.path.join(rw, "race.link")
swaps = 0
while not os.path.exists(stop):
    os.rename(d, tmp); os.symlink(outside, link); os.rename(link, d)      # race -> outside
    os.unlink(d); os.rename(tmp, d)                                       # race -> the real directory
    swaps += 1
print("swaps", swaps, file=sys.stderr)
PY
  local swapper=$!
  run_fg race root.json "$race_script" -v "$work/rw:/rw"
  touch "$work/race-stop"
  wait "$swapper"
  check 'has race RACE-DONE' "race: the guest loop finished"
  check 'has race inside' "race: the guest did read through the real directory"
  check '! has race "$secret"' "race: the guest never read the host's secret"
  check '[ "$(hash_tree "$work/outside")" = "$outside_before" ]' "race: nothing was written outside the share"
}

scenario_profile() {
  log "== profile: read/write entries become mounts; write upgrades read"
  mkdir -p "$work/p-ro" "$work/p-rw" "$work/p-up"
  echo profile-ro >"$work/p-ro/r.txt"
  cat >"$work/profile.json" <<J
{"read": ["$work/p-ro:/pro", "$work/p-up:/up"], "write": ["$work/p-rw:/prw"]}
J
  local before net=()
  before=$(hash_tree "$work/p-ro")
  run_fg profile app.json 'cat /pro/r.txt; echo x > /pro/no.txt 2>/dev/null && echo RO-WROTE; echo w > /prw/w.txt; echo u > /up/u.txt; echo PROFILE-DONE' \
    --permission-profile "$work/profile.json" -v "$work/p-up:/up"
  check 'has profile PROFILE-DONE && has profile profile-ro' "profile: the read entry is readable: $(tail -2 "$work/profile.err")"
  check '! has profile RO-WROTE && [ "$(hash_tree "$work/p-ro")" = "$before" ]' "profile: the read entry is read-only"
  check '[ "$(cat "$work/p-rw/w.txt")" = w ]' "profile: the write entry is writable"
  check '[ "$(cat "$work/p-up/u.txt")" = u ]' "profile: -v HOST:GUEST (rw) upgrades the profile's read entry"
}

scenario_detached() {
  log "== detached: volumes survive stop/start/restart; inspect shows them"
  mkdir -p "$work/d-ro" "$work/d-rw" && echo d-ro >"$work/d-ro/x.txt"
  "$mcpvm" run --name vols --rootfs "$work/img.sqfs" --image-config "$work/demo.json" -v "$work/d-ro:/data:ro" \
    -v "$work/d-rw:/out" x >"$work/vols.run" 2>&1 </dev/null || fail "run vols: $(cat "$work/vols.run")"
  "$mcpvm" inspect vols >"$work/vols.inspect" 2>&1
  check 'jq -e ".volumes | length == 2" "$work/vols.inspect" >/dev/null' "inspect: two volumes"
  check 'jq -e --arg h "$work/d-ro" ".volumes[] | select(.host == \$h and .guest == \"/data\" and .mode == \"ro\" and (.enforced | test(\"readonly=on\")))" "$work/vols.inspect" >/dev/null' \
    "inspect: the ro volume and its enforcement"
  check 'jq -e ".config.volumes | length == 2" "$work/vols.inspect" >/dev/null' "inspect: the volumes are in the RunConfig"
  local n=0
  for step in run stop-start restart; do
    case $step in
      stop-start) "$mcpvm" stop vols >/dev/null 2>&1 && "$mcpvm" start vols >/dev/null 2>&1 || fail "stop/start" ;;
      restart) "$mcpvm" restart vols >/dev/null 2>&1 || fail "restart" ;;
    esac
    n=$((n + 1))
    "$mcpvm" exec vols -- sh -c "cat /data/x.txt; echo $n > /out/boot$n; echo y > /data/y 2>/dev/null && echo RO-WROTE" \
      >"$work/vols.$step" 2>&1 || true
    check 'grep -q d-ro "$work/vols.$step" && ! grep -q RO-WROTE "$work/vols.$step"' "$step: /data readable and read-only"
    check '[ "$(cat "$work/d-rw/boot$n" 2>/dev/null)" = $n ]' "$step: /out writable"
  done
  # A volume directory gone before a later start: a clear error, not QEMU's.
  "$mcpvm" stop vols >/dev/null 2>&1 || fail "stop vols"
  mv "$work/d-rw" "$work/d-rw.gone"
  check '! "$mcpvm" start vols >"$work/vols.gone" 2>&1' "start with a volume gone fails"
  check 'grep -q "volume $work/d-rw (at /out in the guest) is not a directory any more" "$work/vols.gone"' \
    "start names the missing volume: $(cat "$work/vols.gone")"
  "$mcpvm" rm -f vols >/dev/null 2>&1 || fail "rm -f vols"
}

for s in $scenarios; do "scenario_$s"; done
log "failures: $failures"
[ "$failures" = 0 ]
