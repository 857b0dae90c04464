mcpvm_unit_test(rootfs_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/rootfs_build_test.cpp ${CMAKE_CURRENT_LIST_DIR}/rootfs_testing.cpp
  LIBS mcpvm_rootfs PkgConfig::LIBARCHIVE)
