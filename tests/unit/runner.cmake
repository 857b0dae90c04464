mcpvm_unit_test(runner_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/runner_identity_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_state_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_names_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_restart_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_control_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_log_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_run_config_test.cpp ${CMAKE_CURRENT_LIST_DIR}/runner_control_server_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/runner_volumes_test.cpp
  LIBS mcpvm_runner)
target_compile_definitions(runner_test PRIVATE MCPVM_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures")
