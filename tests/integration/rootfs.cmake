# Rootfs oracle: squashfs built from the store vs `umoci unpack` of the same OCI layout (needs root, as
# umoci does), for busybox and a multi-layer image with whiteouts; plus the cache and concurrent builders.
add_executable(rootfs_oracle_test ${CMAKE_CURRENT_LIST_DIR}/rootfs_oracle_test.cpp)
target_link_libraries(rootfs_oracle_test PRIVATE mcpvm_rootfs mcpvm_oci GTest::gtest GTest::gtest_main)
target_include_directories(rootfs_oracle_test PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(rootfs_oracle_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
mcpvm_integration_test(rootfs_oracle COMMAND $<TARGET_FILE:rootfs_oracle_test> TIMEOUT 600 LABELS rootfs)

# The CLI path: import, build-rootfs (built, then cached), images, a hostile image's error, rmi.
mcpvm_integration_test(rootfs_cli COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/rootfs_cli.sh TIMEOUT 300 LABELS rootfs)
