mcpvm_unit_test(mcp_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mcp_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_hub_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_protocol.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_corpus_test.cpp
  LIBS mcpvm_mcp_protocol)

# libFuzzer target for the MCP parsing layer (clang only); mcp_test runs the same entry point under g++.
if(MCPVM_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(mcp_fuzz_protocol ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_protocol.cpp)
  target_compile_options(mcp_fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(mcp_fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(mcp_fuzz_protocol PRIVATE mcpvm_mcp_protocol)
endif()
