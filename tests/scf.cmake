# The SCF half (gateway/scf*.c): state unit tests, integration tests and
# the kill -9 crash loop against a real scf-sim process, and the API-call
# benchmark (not run by ctest; see tests/bench/scf_bench.c).
scfgate_unit_test(test_scf_state ${CMAKE_SOURCE_DIR}/tests/unit/test_scf_state.c)
# How the half knows a fetched comment as its own (gateway/scf/scf_self.c).
scfgate_unit_test(test_scf_posted ${CMAKE_SOURCE_DIR}/tests/unit/test_scf_posted.c)
scfgate_unit_test(test_ratewin ${CMAKE_SOURCE_DIR}/tests/unit/test_ratewin.c)

if(TARGET scf-sim)
  set(SCF_TEST_ENV
      "SCFGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};SCF_SIM_BIN=$<TARGET_FILE:scf-sim>;SCFGATE_BIN=$<TARGET_FILE:scfgate>")

  scfgate_unit_test(test_scf_half ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_half.c
                    ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_include_directories(test_scf_half PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  set_tests_properties(test_scf_half PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 240)
  add_dependencies(test_scf_half scf-sim scfgate)

  # Coverage: idle cost, resync, added request types, the reopen policy.
  scfgate_unit_test(test_scf_coverage ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_coverage.c
                    ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_include_directories(test_scf_coverage PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  set_tests_properties(test_scf_coverage PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 240)
  add_dependencies(test_scf_coverage scf-sim scfgate)
  # Who the half is (GET /profile, its own comments) and one call per
  # transition.
  scfgate_unit_test(test_scf_self ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_self.c
                    ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_include_directories(test_scf_self PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  set_tests_properties(test_scf_self PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 180)
  add_dependencies(test_scf_self scf-sim scfgate)
  # The rate budget across processes and the fetch/write-back fairness,
  # with real `scfgate scf` processes; test_scf_rate_long (label soak) adds
  # a run at SCF's real 20 calls a minute, over a minute long
  # (SCFGATE_LONG_TESTS=1).
  scfgate_unit_test(test_scf_rate ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_rate.c
                    ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_include_directories(test_scf_rate PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  set_tests_properties(test_scf_rate PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 300)
  add_dependencies(test_scf_rate scf-sim scfgate)
  add_test(NAME test_scf_rate_long COMMAND test_scf_rate)
  set_tests_properties(test_scf_rate_long PROPERTIES TIMEOUT 600
    ENVIRONMENT "${SCF_TEST_ENV};SCFGATE_LONG_TESTS=1")

  add_executable(scf_crash ${CMAKE_SOURCE_DIR}/tests/crash/scf_crash.c
                           ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_link_libraries(scf_crash PRIVATE scfgw)
  target_include_directories(scf_crash PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  add_dependencies(scf_crash scf-sim scfgate)
  add_test(NAME scf_crash COMMAND scf_crash 25)
  set_tests_properties(scf_crash PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 120)
  add_test(NAME scf_crash_long COMMAND scf_crash 250)
  set_tests_properties(scf_crash_long PROPERTIES ENVIRONMENT "${SCF_TEST_ENV}" TIMEOUT 1800)

  add_executable(scf_bench ${CMAKE_SOURCE_DIR}/tests/bench/scf_bench.c
                           ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_link_libraries(scf_bench PRIVATE scfgw)
  target_include_directories(scf_bench PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  target_compile_definitions(scf_bench PRIVATE SCF_BENCH_SIM="$<TARGET_FILE:scf-sim>"
                                               SCF_BENCH_SRC="${CMAKE_SOURCE_DIR}")
  add_dependencies(scf_bench scf-sim)

  add_executable(scf_runs_bench ${CMAKE_SOURCE_DIR}/tests/bench/scf_runs_bench.c
                                ${CMAKE_SOURCE_DIR}/tests/integration/test_scf_util.c)
  target_link_libraries(scf_runs_bench PRIVATE scfgw)
  target_include_directories(scf_runs_bench PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  target_compile_definitions(
    scf_runs_bench PRIVATE SCF_BENCH_SIM="$<TARGET_FILE:scf-sim>"
                           SCF_BENCH_GATE="$<TARGET_FILE:scfgate>" SCF_BENCH_SRC="${CMAKE_SOURCE_DIR}")
  add_dependencies(scf_runs_bench scf-sim scfgate)
  scfgate_tier(integration test_scf_half test_scf_coverage test_scf_self test_scf_rate)
  scfgate_tier(crash scf_crash)
  scfgate_tier(soak scf_crash_long test_scf_rate_long)
endif()

scfgate_fuzz_target(fuzz_scf_page ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_scf_page.c)
scfgate_fuzz_target(fuzz_scf_state ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_scf_state.c)

# `scfgate scf census` against scf-sim: parts, exact contents, calls, the
# rate budget (tests/census.sh).
if(TARGET scf-sim AND TARGET e2e-tool)
  add_test(NAME scf_census COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/census.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(scf_census PROPERTIES TIMEOUT 300)
  scfgate_tier(integration scf_census)
endif()

# The inbound resend and reconcile records on the SCF half (tests/resend.sh;
# records forged with `spool-demo sign`).
if(TARGET scf-sim AND TARGET e2e-tool AND TARGET spool-demo)
  add_test(NAME scf_resend COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/resend.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(scf_resend PROPERTIES TIMEOUT 180)
  scfgate_tier(integration scf_resend)
endif()
