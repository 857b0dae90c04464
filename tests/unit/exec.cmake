# `mcpvm exec`: the exec payloads (guest/exec_protocol), the host's session multiplexer (vm/exec_mux)
# against a hostile guest, and the runner's request validation (runner/exec_bridge).
mcpvm_unit_test(exec_unit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/exec_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/exec_mux_test.cpp
  LIBS mcpvm_runner mcpvm_vm mcpvm_guest_core)

# Fuzz target (tests/fuzz/exec_mux_fuzz.cpp): always built as a replay test over the seed corpus plus
# deterministic mutations, so g++ builds run the same entry point; a libFuzzer binary under -DMCPVM_FUZZ=ON
# with clang.
set(_exec_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
add_executable(exec_mux_replay ${_exec_fuzz_dir}/exec_mux_fuzz.cpp ${_exec_fuzz_dir}/net_replay_main.cpp)
target_link_libraries(exec_mux_replay PRIVATE mcpvm_vm mcpvm_guest_core)
add_test(NAME exec_mux_fuzz_replay COMMAND exec_mux_replay ${_exec_fuzz_dir}/exec_corpus)
set_tests_properties(exec_mux_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
if(MCPVM_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_executable(exec_mux_fuzz ${_exec_fuzz_dir}/exec_mux_fuzz.cpp)
  target_compile_options(exec_mux_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(exec_mux_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(exec_mux_fuzz PRIVATE mcpvm_vm mcpvm_guest_core)
endif()
