# Warm start (docs/warm-start.md): template build, restore, distinct clones, fallback, invalidation.
mcpvm_integration_test(warm_start
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/warm_test.sh
  TIMEOUT 600 LABELS "vm;warm")
