mcpvm_unit_test(runner_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/runner_identity_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_state_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_names_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_restart_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_control_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_log_test.cpp
  LIBS mcpvm_runner_core)

mcpvm_unit_test(runner_vm_spec_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/runner_vm_spec_test.cpp
  LIBS mcpvm_runner)
