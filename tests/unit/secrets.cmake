# The secret store (secrets/): file format and crypto round trips, wrong passphrase and damaged files
# (clear error, file unchanged), concurrent writers from several processes, names and references, the
# kernel keyring cache, the CLI→runner delivery; and the guest's Secrets control message against hostile
# payloads.
mcpvm_unit_test(secrets_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/secrets_store_test.cpp ${CMAKE_CURRENT_LIST_DIR}/secrets_delivery_test.cpp
  LIBS mcpvm_secrets)
mcpvm_unit_test(guest_secrets_message_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/guest_secrets_message_test.cpp
  LIBS mcpvm_guest_core)
