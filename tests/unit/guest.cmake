# Guest-side logic shared with mcpvm-init: control framing, env layering, /etc/passwd and /etc/group.
mcpvm_unit_test(guest_unit_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/guest_users_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/guest_env_test.cpp
  LIBS mcpvm_guest_core)
