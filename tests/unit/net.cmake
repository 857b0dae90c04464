# Network concern (issue 6): parsers, policy, filter, DHCP codec.
if(TARGET mcpvm_net)
  mcpvm_unit_test(net_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/net_packet_test.cpp ${CMAKE_CURRENT_LIST_DIR}/net_policy_test.cpp
    LIBS mcpvm_net)
endif()
