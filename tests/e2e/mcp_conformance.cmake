# The official MCP conformance suite run against our fixture server directly and through mcpvm; any check
# that comes out differently fails (conformance.test.mjs). Included after mcp.cmake (MCPVM_NODE,
# mcpvm_e2e_test). Host paths: ~40 s each; the VM path boots a TCG microVM (~2-4 min).
foreach(path stdio-bridge http-upstream)
  string(REPLACE "-" "_" _name "mcp_e2e_conformance_${path}")
  mcpvm_e2e_test(${_name} conformance.test.mjs ARGS ${path} TIMEOUT 240)
endforeach()
mcpvm_integration_test(mcp_e2e_conformance_vm
  COMMAND ${MCPVM_NODE} ${CMAKE_CURRENT_LIST_DIR}/conformance.test.mjs vm TIMEOUT 600 LABELS e2e mcp vm)
