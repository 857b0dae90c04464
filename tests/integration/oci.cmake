# The image store against real docker-registry instances on 127.0.0.1 (open, htpasswd, bearer tokens).
mcpvm_integration_test(oci_registry
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/oci_registry.sh
  TIMEOUT 300
  LABELS oci)
