# `mcpvm exec`: the exec payloads (guest/exec_protocol), the host's session multiplexer (vm/exec_mux)
# against a hostile guest, and the runner's request validation (runner/exec_bridge).
if(TARGET mcpvm_runner AND TARGET mcpvm_vm)
  mcpvm_unit_test(exec_unit_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/exec_protocol_test.cpp ${CMAKE_CURRENT_LIST_DIR}/exec_mux_test.cpp
    LIBS mcpvm_runner mcpvm_vm mcpvm_guest_core)
endif()
