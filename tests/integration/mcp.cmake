# mcp::Endpoint embedded as the runner uses it (stdio server on fds, endpoint thread, status()).
add_executable(mcp_endpoint_test ${CMAKE_CURRENT_LIST_DIR}/mcp_endpoint_test.cpp)
target_link_libraries(mcp_endpoint_test PRIVATE mcpvm_mcp CURL::libcurl GTest::gtest GTest::gtest_main)
target_include_directories(mcp_endpoint_test PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_dependencies(mcp_endpoint_test mcpvm-demo-server)
mcpvm_integration_test(mcp_endpoint COMMAND $<TARGET_FILE:mcp_endpoint_test> TIMEOUT 120 LABELS mcp)
