mcpvm_unit_test(rootfs_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_build_test.cpp ${CMAKE_CURRENT_LIST_DIR}/rootfs_testing.cpp
  LIBS mcpvm_rootfs PkgConfig::LIBARCHIVE)

# The hostile corpus (tests/fixtures/hostile) through the builder, with sandbox snapshots.
mcpvm_unit_test(rootfs_hostile_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_hostile_test.cpp ${CMAKE_CURRENT_LIST_DIR}/rootfs_testing.cpp
  LIBS mcpvm_rootfs PkgConfig::LIBARCHIVE)
target_compile_definitions(rootfs_hostile_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
