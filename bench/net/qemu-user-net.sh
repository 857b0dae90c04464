#!/usr/bin/env bash
# Bench-only QEMU wrapper: the VM mcpvm would start, but with QEMU's built-in user networking instead of
# the -netdev socket to mcpvm's UserNetwork (same image, kernel, init, devices). Used as VmSpec::qemu_binary.
args=()
for a in "$@"; do
  case $a in
    socket,id=net0,fd=*) args+=("user,id=net0") ;;
    *) args+=("$a") ;;
  esac
done
exec qemu-system-x86_64 "${args[@]}"
