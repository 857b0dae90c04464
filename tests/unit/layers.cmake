# The repository's own rules: the include graph between src/ folders (scripts/check-includes.sh, also run
# by every build) and clang-format cleanliness of every tracked C++ file (scripts/check-format.sh;
# `make format` fixes).
add_test(NAME include_graph COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_includes_test.sh)
add_test(NAME clang_format COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-format.sh)
set_tests_properties(include_graph clang_format PROPERTIES LABELS unit TIMEOUT 120)
