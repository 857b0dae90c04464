# Detached VM lifecycle under TCG (real QEMU, real guest kernel): see runner_lifecycle.sh.
mcpvm_integration_test(runner_lifecycle
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/runner_lifecycle.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 600 LABELS lifecycle)

# `mcpvm exec` under TCG: see exec_test.sh.
mcpvm_integration_test(exec
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/exec_test.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 420 LABELS lifecycle)
# The capped console log, network counters in inspect, foreground runs and ls, a VM created by mcpvm 0.1,
# and the endpoint's tool policy and audit log (same script, other scenarios).
mcpvm_integration_test(runner_lifecycle_logs_net
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/runner_lifecycle.sh ${CMAKE_BINARY_DIR} console_cap network_counters foreground old_config tools clients
  TIMEOUT 400 LABELS lifecycle)

# The endpoint's port across reboots, `restart`, and stop -> start with a squatter (SECURITY.md).
mcpvm_integration_test(runner_endpoint_window
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/runner_lifecycle.sh ${CMAKE_BINARY_DIR} endpoint_window
  TIMEOUT 300 LABELS lifecycle)

# Secrets end to end (issue 15): see secrets_test.sh.
mcpvm_integration_test(secrets
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/secrets_test.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 600 LABELS lifecycle)
# Volumes (virtio-9p) under TCG: see run_volumes.sh.
mcpvm_integration_test(run_volumes
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_volumes.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 600 LABELS "volumes;vm")

# Run by name from a registry (issue 18): registry add/search/info over http, flags checked first, a missing
# secret refused before boot, run NAME --register and a tool call with the registered config's URL and
# headers (TCG). See registry_run.sh.
mcpvm_integration_test(registry_run
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/registry_run.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 600 LABELS "registry;lifecycle")
