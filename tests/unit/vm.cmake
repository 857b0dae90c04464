# Host-side VM logic that needs no QEMU: cpio, modules.dep, QEMU argv, docker-run command/env rules, the
# acceleration decision (fed probe outcomes and cache contents), volume specs.
mcpvm_unit_test(vm_unit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_initramfs_test.cpp ${CMAKE_CURRENT_LIST_DIR}/vm_kernel_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/vm_qemu_test.cpp ${CMAKE_CURRENT_LIST_DIR}/vm_command_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/vm_accel_test.cpp ${CMAKE_CURRENT_LIST_DIR}/vm_volume_test.cpp
  LIBS mcpvm_vm)
