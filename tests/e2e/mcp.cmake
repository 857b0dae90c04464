# End-to-end tests of the MCP endpoint with real MCP clients and servers from npm (label e2e).
# scripts/test-setup.d/mcp.sh installs tests/e2e/node_modules (npm ci) before they run.
# A missing node is an error, not a silently smaller suite.
find_program(MCPVM_NODE node)
if(NOT MCPVM_NODE)
  message(FATAL_ERROR "node not found: the MCP e2e tests need it (run scripts/deps.sh, or configure with "
                      "-DMCPVM_TESTS=OFF to build without tests)")
endif()

function(mcpvm_e2e_test name script)
  cmake_parse_arguments(T "" "TIMEOUT" "ARGS" ${ARGN})
  add_test(NAME ${name} COMMAND ${MCPVM_NODE} ${CMAKE_CURRENT_LIST_DIR}/${script} ${T_ARGS}
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "e2e;mcp" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "MCPVM_BIN_DIR=${CMAKE_BINARY_DIR}/bin;MCPVM_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

foreach(mode stdio sse streamableHttp)
  mcpvm_e2e_test(mcp_e2e_sdk_${mode} sdk-everything.test.mjs ARGS ${mode} TIMEOUT 180)
  mcpvm_e2e_test(mcp_e2e_inspector_${mode} inspector-cli.test.mjs ARGS ${mode} TIMEOUT 300)
endforeach()
mcpvm_e2e_test(mcp_e2e_concurrent_clients sdk-concurrent.test.mjs TIMEOUT 180)
mcpvm_e2e_test(mcp_e2e_protocol_abuse protocol-abuse.test.mjs TIMEOUT 300)
mcpvm_e2e_test(mcp_e2e_demo_server_stdio demo-server-stdio.test.mjs TIMEOUT 60)
mcpvm_e2e_test(mcp_e2e_stdio_proxy stdio-proxy.test.mjs TIMEOUT 60)
mcpvm_e2e_test(mcp_e2e_http_upstream_standalone http-upstream-standalone.test.mjs TIMEOUT 90)
# Volumes with @modelcontextprotocol/server-filesystem in a TCG microVM (issue 14).
mcpvm_e2e_test(mcp_e2e_vm_filesystem vm-filesystem.test.mjs TIMEOUT 600)
