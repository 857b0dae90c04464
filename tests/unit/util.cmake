mcpvm_unit_test(util_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/util_fs_test.cpp ${CMAKE_CURRENT_LIST_DIR}/util_process_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/util_sha256_test.cpp ${CMAKE_CURRENT_LIST_DIR}/util_helpers_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/util_home_test.cpp ${CMAKE_CURRENT_LIST_DIR}/util_terminal_test.cpp
  LIBS mcpvm_util)
