mcpvm_unit_test(mcp_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mcp_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_hub_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/mcp_bearer_auth_test.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_tool_policy_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/mcp_client_config_test.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_jsonc_edit_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/mcp_client_file_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_protocol.cpp ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_corpus_test.cpp
  LIBS mcpvm_mcp_protocol)

# libFuzzer target for the MCP parsing layer (clang only); mcp_test runs the same entry point under g++.
if(MCPVM_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(mcp_fuzz_protocol ${CMAKE_CURRENT_LIST_DIR}/mcp_fuzz_protocol.cpp)
  target_compile_options(mcp_fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(mcp_fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(mcp_fuzz_protocol PRIVATE mcpvm_mcp_protocol)
endif()

# Fuzz target for the Host header check (tests/fuzz/mcp_host_fuzz.cpp), wired like the net ones: a replay
# driver runs it as a unit test over tests/fuzz/mcp_corpus/host plus deterministic mutations; under
# -DMCPVM_FUZZ=ON with clang it is also a libFuzzer binary.
set(_mcp_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
add_executable(mcp_host_replay ${_mcp_fuzz_dir}/mcp_host_fuzz.cpp ${_mcp_fuzz_dir}/net_replay_main.cpp)
target_link_libraries(mcp_host_replay PRIVATE mcpvm_mcp_protocol)
target_include_directories(mcp_host_replay PRIVATE ${CMAKE_SOURCE_DIR}/src)
add_test(NAME mcp_host_fuzz_replay COMMAND mcp_host_replay ${_mcp_fuzz_dir}/mcp_corpus/host)
set_tests_properties(mcp_host_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
if(MCPVM_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(mcp_host_fuzz ${_mcp_fuzz_dir}/mcp_host_fuzz.cpp)
  target_link_libraries(mcp_host_fuzz PRIVATE mcpvm_mcp_protocol)
  target_include_directories(mcp_host_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(mcp_host_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(mcp_host_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
