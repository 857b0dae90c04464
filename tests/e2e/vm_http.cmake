# MCP servers that speak HTTP: in a microVM (vm-http, label vm: TCG boots, ~2-4 min) and the HTTP upstream
# link's session recovery against a real server on the host (http-upstream-reinit). See docs/mcp.md.
# MCPVM_NODE: found (or refused) by mcp.cmake, included first.
foreach(t vm-http http-upstream-reinit)
  string(REPLACE "-" "_" _name "mcp_e2e_${t}")
  add_test(NAME ${_name} COMMAND ${MCPVM_NODE} ${CMAKE_CURRENT_LIST_DIR}/${t}.test.mjs
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(${_name} PROPERTIES
    ENVIRONMENT "MCPVM_BIN_DIR=${CMAKE_BINARY_DIR}/bin;MCPVM_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
set_tests_properties(mcp_e2e_vm_http PROPERTIES LABELS "e2e;mcp;vm" TIMEOUT 330)
set_tests_properties(mcp_e2e_http_upstream_reinit PROPERTIES LABELS "e2e;mcp" TIMEOUT 90)
