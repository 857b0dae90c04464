# `mcpvm run` on the user network (docs/net.md): DHCP address, host loopback only with
# --allow-host-loopback (not with --allow-private-network), --network none, egress allowlists from flags
# (detached VM: exec, inspect counters, -p forward) and from a profile file, raw-IP denial, and the
# refusal of a non-loopback -p and a mistyped profile before any boot. Real microVMs (label vm; needs the
# guest kernel); 7 boots in parallel, ~30 s under TCG.
mcpvm_integration_test(run_network COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_network.sh
  TIMEOUT 300 LABELS "net;vm" ENV "MCPVM_ACCEL=tcg")
