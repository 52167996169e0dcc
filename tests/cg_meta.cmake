# Cartegraph class metadata and the field-map check (gateway/api/cg_meta.c,
# gateway/api/cg_check.c): unit tests, and the meta parser fuzzed (its corpus
# replays under ctest).
scfgate_unit_test(test_cg_meta ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cg_meta.c)
scfgate_fuzz_target(fuzz_cg_meta ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_cg_meta.c)
