# The spool queue library: unit tests, crash and fault-injection tests,
# and the benchmark program (run by tools/bench.sh, not by ctest).
add_library(spool_testutil STATIC ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_spool_util.c)
target_link_libraries(spool_testutil PUBLIC scfspool)
target_include_directories(spool_testutil PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
                                                 ${CMAKE_CURRENT_SOURCE_DIR}/unit)

scfgate_unit_test(test_spool unit/test_spool.c)
target_link_libraries(test_spool PRIVATE spool_testutil)

add_executable(spool_bench bench/spool_bench.c)
target_link_libraries(spool_bench PRIVATE spool_testutil)

# Crash test: real processes SIGKILLed at random moments.
foreach(prog crash_writer crash_consumer crash_driver)
  add_executable(${prog} crash/${prog}.c)
  target_link_libraries(${prog} PRIVATE spool_testutil)
endforeach()
add_test(NAME spool_crash
         COMMAND crash_driver ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/crash-work 300)
set_tests_properties(spool_crash PROPERTIES TIMEOUT 600)
