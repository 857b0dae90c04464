# Warm start (docs/warm-start.md): the Configure message the restored init parses, template keys, shapes
# and the QEMU arguments of template and restore. The restore itself is in tests/integration/warm.cmake.
mcpvm_unit_test(warm_unit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_configure_message_test.cpp ${CMAKE_CURRENT_LIST_DIR}/vm_template_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/vm_qmp_test.cpp
  LIBS mcpvm_vm)
