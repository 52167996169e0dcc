# The OMS half: the tracked-request store (unit), `scfgate oms` against
# the real oms-sim (integration), the kill -9 crash loop, and the
# benchmark program (not a test): build-*/tests/oms_bench --help
scfgate_unit_test(test_oms_track ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_oms_track.c)
scfgate_unit_test(test_oms_recon ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_oms_recon.c)

if(TARGET oms-sim)
  add_library(oms_testutil STATIC ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_oms_util.c
                                  ${CMAKE_CURRENT_SOURCE_DIR}/integration/sim_harness.c)
  target_include_directories(oms_testutil PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  target_link_libraries(oms_testutil PUBLIC scfgw PkgConfig::CURL PkgConfig::CJSON)

  set(OMS_TEST_ENV
      "OMS_SIM_BIN=$<TARGET_FILE:oms-sim>;SCFGATE_BIN=$<TARGET_FILE:scfgate>;SCFGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

  foreach(t test_oms test_oms_faults test_oms_comments test_oms_resend test_oms_reconcile)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
      add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
      target_link_libraries(${t} PRIVATE oms_testutil PkgConfig::CMOCKA)
      add_dependencies(${t} oms-sim scfgate)
      add_test(NAME ${t} COMMAND ${t})
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "${OMS_TEST_ENV}" TIMEOUT 240
                                           LABELS oms)
      scfgate_tier(integration ${t})
    endif()
  endforeach()

  # The field map against the class metadata: `scfgate oms` and
  # `config check --online` against oms-sim, and --online against scf-sim.
  if(TARGET scf-sim)
    add_executable(test_oms_meta ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_oms_meta.c)
    target_link_libraries(test_oms_meta PRIVATE oms_testutil PkgConfig::CMOCKA)
    add_dependencies(test_oms_meta oms-sim scf-sim scfgate)
    add_test(NAME test_oms_meta COMMAND test_oms_meta)
    set_tests_properties(test_oms_meta PROPERTIES TIMEOUT 150 LABELS oms
      ENVIRONMENT "${OMS_TEST_ENV};SCF_SIM_BIN=$<TARGET_FILE:scf-sim>")
    scfgate_tier(integration test_oms_meta)
  endif()

  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/crash/oms_crash.c)
    add_executable(oms_crash ${CMAKE_CURRENT_SOURCE_DIR}/crash/oms_crash.c)
    target_link_libraries(oms_crash PRIVATE oms_testutil)
    add_dependencies(oms_crash oms-sim scfgate)
    add_test(NAME oms_crash COMMAND oms_crash --rounds 25)
    set_tests_properties(oms_crash PROPERTIES ENVIRONMENT "${OMS_TEST_ENV}" TIMEOUT 150
                                              LABELS oms)
    add_test(NAME oms_crash_long COMMAND oms_crash --rounds 250)
    set_tests_properties(oms_crash_long PROPERTIES ENVIRONMENT "${OMS_TEST_ENV}" TIMEOUT 1800
                                                   LABELS oms)
    scfgate_tier(crash oms_crash)
    scfgate_tier(soak oms_crash_long)
  endif()

  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/bench/oms_bench.c)
    add_executable(oms_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/oms_bench.c)
    target_link_libraries(oms_bench PRIVATE oms_testutil)
    add_dependencies(oms_bench oms-sim scfgate)
  endif()
  # The reconciliation of a large census (not a test): build-*/tests/recon_bench --help
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/bench/recon_bench.c)
    add_executable(recon_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/recon_bench.c)
    target_link_libraries(recon_bench PRIVATE oms_testutil)
    add_dependencies(recon_bench oms-sim scfgate)
  endif()
endif()
# The geocoder through the whole OMS half: `scfgate oms` against oms-sim
# and geo-sim.
if(TARGET oms_testutil AND TARGET geo-sim)
  add_executable(test_oms_geo_half ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_oms_geo_half.c)
  target_link_libraries(test_oms_geo_half PRIVATE oms_testutil PkgConfig::CMOCKA)
  add_dependencies(test_oms_geo_half oms-sim geo-sim scfgate)
  add_test(NAME test_oms_geo_half COMMAND test_oms_geo_half)
  set_tests_properties(test_oms_geo_half PROPERTIES TIMEOUT 120 LABELS "oms;sim"
    ENVIRONMENT "${OMS_TEST_ENV};GEO_SIM_BIN=$<TARGET_FILE:geo-sim>")
  scfgate_tier(integration test_oms_geo_half)
endif()
# The tracked-request journal parser, fuzzed; its corpus replays under ctest.
scfgate_fuzz_target(fuzz_oms_journal ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_oms_journal.c)
# Numbered generations of the state and status files (both halves).
scfgate_unit_test(test_gen ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gen.c)

# What the OMS half reads from Cartegraph (create replies, query rows,
# notes text), fuzzed; its corpus replays under ctest.
scfgate_fuzz_target(fuzz_cg_reply ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_cg_reply.c)
