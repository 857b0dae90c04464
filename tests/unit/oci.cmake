mcpvm_unit_test(oci_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/oci_reference_test.cpp ${CMAKE_CURRENT_LIST_DIR}/oci_auth_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/oci_manifest_test.cpp ${CMAKE_CURRENT_LIST_DIR}/oci_store_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/oci_pull_test.cpp ${CMAKE_CURRENT_LIST_DIR}/oci_import_test.cpp
  LIBS mcpvm_oci PkgConfig::LIBARCHIVE)
target_compile_definitions(oci_test PRIVATE MCPVM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

# libFuzzer target for the manifest/config parsers (clang only); its corpus also runs in oci_test above.
if(MCPVM_FUZZ)
  add_executable(oci_manifest_fuzz ${CMAKE_SOURCE_DIR}/tests/fuzz/oci_manifest_fuzz.cpp)
  target_compile_options(oci_manifest_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(oci_manifest_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(oci_manifest_fuzz PRIVATE mcpvm_oci)
endif()
