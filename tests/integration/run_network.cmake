# `mcpvm run --foreground` on the user network (docs/net.md): DHCP address, host loopback only with
# --allow-host-loopback, --network none. Real microVMs (label vm; needs the guest kernel).
mcpvm_integration_test(run_network COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_network.sh
  TIMEOUT 300 LABELS "net;vm" ENV "MCPVM_ACCEL=tcg")
