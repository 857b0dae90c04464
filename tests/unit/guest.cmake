# Guest-side logic shared with mcpvm-init: control framing, env layering, /etc/passwd and /etc/group,
# appended module signatures, the runtime files of a scratch image.
mcpvm_unit_test(guest_unit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/guest_users_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/guest_env_test.cpp ${CMAKE_CURRENT_LIST_DIR}/guest_module_signature_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/guest_runtime_files_test.cpp
  LIBS mcpvm_guest_core)

# Fuzz targets (tests/fuzz/guest_*_fuzz.cpp). Always built as replay tests over the seed corpus plus
# deterministic mutations (tests/fuzz/net_replay_main.cpp), so g++ builds run the same entry points;
# libFuzzer binaries under -DMCPVM_FUZZ=ON with clang.
set(_guest_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
foreach(target protocol users)
  set(_src ${_guest_fuzz_dir}/guest_${target}_fuzz.cpp)
  add_executable(guest_${target}_replay ${_src} ${_guest_fuzz_dir}/net_replay_main.cpp)
  target_link_libraries(guest_${target}_replay PRIVATE mcpvm_guest_core)
  add_test(NAME guest_${target}_fuzz_replay
           COMMAND guest_${target}_replay ${_guest_fuzz_dir}/guest_corpus/${target})
  set_tests_properties(guest_${target}_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
  if(MCPVM_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_executable(guest_${target}_fuzz ${_src})
    target_compile_options(guest_${target}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(guest_${target}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(guest_${target}_fuzz PRIVATE mcpvm_guest_core)
  endif()
endforeach()
