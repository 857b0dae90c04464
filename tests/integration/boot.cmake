# VM boot tests: real QEMU microVMs (TCG here), one ctest per case so failures are precise and ctest -j
# runs them in parallel. Label "vm" selects them: ctest -L vm.
set(_boot_cases exit_code exit_signal unsigned_modules env_layering user_name_workdir user_uid_gid entrypoint_args stdio_16m
    orphans overlay_isolation ctrl_c stop_timeout boot_deadline bad_input demo_server image_import scratch_image)
foreach(_case ${_boot_cases})
  mcpvm_integration_test(boot_${_case}
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/boot_test.sh ${_case}
    TIMEOUT 240 LABELS vm)
endforeach()
# Issue 4's "Done when": the node MCP server image over stdio in the foreground (initialize, tools/list,
# tools/call echo, stdin EOF → exit 0). Needs the node image (scripts/test-setup.d/oci.sh, or built here).
mcpvm_integration_test(boot_node_mcp_stdio
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/node_mcp_foreground.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 420 LABELS vm)
# The real acceleration probe here (KVM boot probe with its deadline, verdict cached), and the probe's
# recognition of a TCG boot.
add_executable(vm_accel_probe_test ${CMAKE_CURRENT_LIST_DIR}/vm_accel_probe_test.cpp)
target_link_libraries(vm_accel_probe_test PRIVATE mcpvm_vm GTest::gtest GTest::gtest_main)
target_include_directories(vm_accel_probe_test PRIVATE ${CMAKE_SOURCE_DIR}/src)
add_dependencies(vm_accel_probe_test mcpvm-init)
mcpvm_integration_test(boot_accel_probe COMMAND $<TARGET_FILE:vm_accel_probe_test> TIMEOUT 240 LABELS vm)
