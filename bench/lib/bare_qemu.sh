# The bare-QEMU peer of bench/boot and bench/density (sourced): QEMU booting the kernel mcpvm uses, the
# way mcpvm runs it (machine, accel, CPU model, TCG code cache, the TSC rate it measured), with a trivial
# static busybox /init and no devices. Reads mcpvm's caches under $MCPVM_HOME: run mcpvm once first.

# bare_qemu_setup: sets `kernel`, `accel` (tcg|kvm: MCPVM_ACCEL, or for auto the verdict mcpvm cached)
# and `cpu`.
bare_qemu_setup() {
  kernel=$(readlink -f "${MCPVM_KERNEL:-/var/lib/mcpvm/kernel/current/vmlinux}")
  accel=${MCPVM_ACCEL:-auto}
  if [ "$accel" = auto ]; then
    accel=tcg
    if [ -f "$MCPVM_HOME/kernel/accel.json" ] && grep -q '"kvm"' "$MCPVM_HOME/kernel/accel.json"; then accel=kvm; fi
  fi
  cpu=max
  if [ "$accel" = kvm ]; then cpu=host; fi
}

# bare_initrd OUT.cpio SCRIPT: an initramfs with static busybox and SCRIPT (shell lines) as /init.
bare_initrd() {
  local tree
  tree=$(mktemp -d)
  mkdir -p "$tree/bin" "$tree/dev"
  cp /bin/busybox "$tree/bin/busybox"
  printf '#!/bin/busybox sh\n%s\n' "$2" >"$tree/init"
  chmod +x "$tree/init"
  (cd "$tree" && find . | cpio -o -H newc --quiet) >"$1"
  rm -rf "$tree"
}

# bare_qemu_argv MEMORY_MIB INITRD: sets the array `bare_qemu`, the command line without a serial port
# (the caller adds its own). Call bare_qemu_setup first.
bare_qemu_argv() {
  local accel_opt=$accel tsc
  if [ "$accel" = tcg ] && [ -n "${MCPVM_TCG_TB_MIB:-}" ]; then accel_opt="tcg,tb-size=$MCPVM_TCG_TB_MIB"; fi
  tsc=$(jq -r .khz "$MCPVM_HOME/kernel/tsc.json")
  bare_qemu=(qemu-system-x86_64 -M microvm,x-option-roms=off -bios qboot.rom -accel "$accel_opt" -cpu "$cpu" -smp 1 -m "$1"
    -nodefaults -no-user-config -no-reboot -display none -kernel "$kernel" -initrd "$2"
    -append "console=ttyS0 reboot=t panic=-1 quiet loglevel=4 cryptomgr.notests rdinit=/init tsc_early_khz=$tsc")
}
