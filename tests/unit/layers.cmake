# The repository's own rules: the include graph between src/ folders (scripts/check-includes.sh, also run
# by every build).
add_test(NAME include_graph COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_includes_test.sh)
set_tests_properties(include_graph PROPERTIES LABELS unit TIMEOUT 120)
