# Network integration (issue 6), no VM: a namespace guest relayed to a real UserNetwork.
add_executable(net_guest_ns ${CMAKE_CURRENT_LIST_DIR}/net_guest_ns.cpp)
target_link_libraries(net_guest_ns PRIVATE mcpvm_guest_net mcpvm_net)
add_executable(net_ns_test ${CMAKE_CURRENT_LIST_DIR}/net_ns_test.cpp)
target_link_libraries(net_ns_test PRIVATE mcpvm_net GTest::gtest)
target_include_directories(net_ns_test PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_dependencies(net_ns_test net_guest_ns)
mcpvm_integration_test(net_namespace COMMAND $<TARGET_FILE:net_ns_test> TIMEOUT 240 LABELS net)

# bench/net: the network benchmark (bench/net/run.sh builds and runs it).
add_executable(net_bench ${CMAKE_SOURCE_DIR}/bench/net/net_bench.cpp)
target_link_libraries(net_bench PRIVATE mcpvm_net mcpvm_vm)
add_dependencies(net_bench net_guest_ns)

# The same paths in a real microVM (needs the guest kernel: scripts/fetch-kernel.sh; label vm).
add_executable(net_vm_test ${CMAKE_CURRENT_LIST_DIR}/net_vm_test.cpp)
target_link_libraries(net_vm_test PRIVATE mcpvm_net mcpvm_vm GTest::gtest GTest::gtest_main)
target_include_directories(net_vm_test PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_dependencies(net_vm_test mcpvm-init)
mcpvm_integration_test(net_vm COMMAND $<TARGET_FILE:net_vm_test> TIMEOUT 300 LABELS "net;vm" ENV "MCPVM_ACCEL=tcg")
