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

# Crash test: real processes SIGKILLed at random moments; 150 rounds by
# default, 3,000 in spool_crash_long (label soak).  SCFGATE_CRASH_ROUNDS
# and SCFGATE_CRASH_SEED apply to every crash test (crash/crash_env.h).
foreach(prog crash_writer crash_consumer crash_driver)
  add_executable(${prog} crash/${prog}.c)
  target_link_libraries(${prog} PRIVATE spool_testutil)
endforeach()
add_test(NAME spool_crash
         COMMAND crash_driver ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/crash-work 150)
set_tests_properties(spool_crash PROPERTIES TIMEOUT 600)
add_test(NAME spool_crash_long
         COMMAND crash_driver ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/crash-work-long
                 3000)
set_tests_properties(spool_crash_long PROPERTIES TIMEOUT 3600)

# Fault injection: an LD_PRELOAD shim fails one write/fsync/fdatasync/
# syncfs/rename/open of the commit path with EIO or ENOSPC.  The shim is
# built without sanitizers; sanitized programs run it with
# ASAN_OPTIONS=verify_asan_link_order=0 (set by the driver).
add_library(spool_fault_shim SHARED crash/fault_shim.c)
target_compile_options(spool_fault_shim PRIVATE -fno-sanitize=all)
target_link_options(spool_fault_shim PRIVATE -fno-sanitize=all)
target_link_libraries(spool_fault_shim PRIVATE dl)
add_test(NAME spool_faults
         COMMAND crash_driver --faults ${CMAKE_CURRENT_BINARY_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/fault-work $<TARGET_FILE:spool_fault_shim>)
set_tests_properties(spool_faults PROPERTIES TIMEOUT 300)

scfgate_unit_test(test_spool_cmd unit/test_spool_cmd.c)
target_link_libraries(test_spool_cmd PRIVATE spool_testutil)

# Fail the Nth allocation, for every N, in decode, encode and a queue
# round trip: our code through --wrap, libxml2 and OpenSSL through their
# allocator hooks.
scfgate_unit_test(test_oom unit/test_oom.c)
target_link_libraries(test_oom PRIVATE spool_testutil)
target_link_options(test_oom PRIVATE
  -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup)

# `scfgate spool ls` (--json and text) holds one record at a time: the
# same peak RSS at 200 and 2,000 records.  Needs jq.
add_test(NAME spool_ls_rss
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/spool_ls_rss.sh $<TARGET_FILE:scfgate>
                 $<TARGET_FILE:spool-demo> $<TARGET_FILE:spool_bench>
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/keys)

scfgate_tier(crash spool_crash spool_faults)
scfgate_tier(soak spool_crash_long)
scfgate_tier(integration spool_ls_rss)

# The capped buffer (util/buf.h): its invariants after every operation,
# with allocations failed through --wrap.
scfgate_unit_test(test_buf unit/test_buf.c)
target_link_options(test_buf PRIVATE -Wl,--wrap=realloc,--wrap=calloc)

# The strict integer readers (util/num.h) that replace sscanf's "%d".
scfgate_unit_test(test_num unit/test_num.c)
