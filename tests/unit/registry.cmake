# Registry documents (server.json, the MCP Registry API, ToolHive's registry.json), sources over http on
# 127.0.0.1, and the configured-registries file.
mcpvm_unit_test(registry_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/registry_catalog_test.cpp ${CMAKE_CURRENT_LIST_DIR}/registry_source_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/registry_run_plan_test.cpp
  LIBS mcpvm_registry)
target_compile_definitions(registry_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
