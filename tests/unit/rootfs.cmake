mcpvm_unit_test(rootfs_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_build_test.cpp ${CMAKE_CURRENT_LIST_DIR}/rootfs_testing.cpp
  LIBS mcpvm_rootfs PkgConfig::LIBARCHIVE)

# The hostile corpus (tests/fixtures/hostile) through the builder, with sandbox snapshots.
mcpvm_unit_test(rootfs_hostile_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_hostile_test.cpp ${CMAKE_CURRENT_LIST_DIR}/rootfs_testing.cpp
  LIBS mcpvm_rootfs PkgConfig::LIBARCHIVE)
target_compile_definitions(rootfs_hostile_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# The fuzz target's corpus, replayed under g++ through the same entry point (fuzz_one_layer).
mcpvm_unit_test(rootfs_fuzz_replay_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_fuzz_replay_test.cpp LIBS mcpvm_rootfs)
target_compile_definitions(rootfs_fuzz_replay_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# libFuzzer target for the layer reader and merger (clang only).
if(MCPVM_FUZZ)
  add_executable(rootfs_layer_fuzz ${CMAKE_SOURCE_DIR}/tests/fuzz/rootfs_layer_fuzz.cpp)
  target_compile_options(rootfs_layer_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(rootfs_layer_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(rootfs_layer_fuzz PRIVATE mcpvm_rootfs)
endif()
