# Network concern (issue 6): parsers, policy, filter (host side); DHCP codec and guest config (guest side).
mcpvm_unit_test(net_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_packet_test.cpp ${CMAKE_CURRENT_LIST_DIR}/net_policy_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/net_user_network_test.cpp ${CMAKE_CURRENT_LIST_DIR}/net_request_test.cpp
  LIBS mcpvm_net)
mcpvm_unit_test(net_guest_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_dhcp_test.cpp LIBS mcpvm_guest_net)

# Fuzz targets (tests/fuzz/net_*_fuzz.cpp, entry point LLVMFuzzerTestOneInput). Under -DMCPVM_FUZZ=ON with
# clang they become libFuzzer binaries; always, each is also linked with a replay driver and run as a unit
# test over its seed corpus plus deterministic mutations, so g++ builds exercise the same entry points.
set(_net_fuzz_dir ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
foreach(target frame dns dhcp)
  if(target STREQUAL "dhcp")
    set(_lib mcpvm_guest_net)
  else()
    set(_lib mcpvm_net)
  endif()
  set(_src ${_net_fuzz_dir}/net_${target}_fuzz.cpp)
  add_executable(net_${target}_replay ${_src} ${_net_fuzz_dir}/net_replay_main.cpp)
  target_link_libraries(net_${target}_replay PRIVATE ${_lib})
  target_include_directories(net_${target}_replay PRIVATE ${CMAKE_SOURCE_DIR}/src)
  add_test(NAME net_${target}_fuzz_replay COMMAND net_${target}_replay ${_net_fuzz_dir}/net_corpus/${target})
  set_tests_properties(net_${target}_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
  if(MCPVM_FUZZ)
    add_executable(net_${target}_fuzz ${_src})
    target_link_libraries(net_${target}_fuzz PRIVATE ${_lib})
    target_include_directories(net_${target}_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/src)
    target_compile_options(net_${target}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(net_${target}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endforeach()
