# The spool queue library: unit tests, crash and fault-injection tests,
# and the benchmark program (run by tools/bench.sh, not by ctest).
add_library(spool_testutil STATIC ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_spool_util.c)
target_link_libraries(spool_testutil PUBLIC scfspool)
target_include_directories(spool_testutil PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
                                                 ${CMAKE_CURRENT_SOURCE_DIR}/unit)

scfgate_unit_test(test_spool unit/test_spool.c)
target_link_libraries(test_spool PRIVATE spool_testutil)
