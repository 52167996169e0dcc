# The queues over time (gateway/run/history.c), sampled by each half for the
# chart of `scfgate report`: the unit test and the fuzz target of its
# parser.
scfgate_unit_test(test_history ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_history.c)
scfgate_fuzz_target(fuzz_history ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_history.c)
