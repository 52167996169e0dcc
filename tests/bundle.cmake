# Bundles: unit tests (round trips, hostile archives, ack/prune, retention),
# the importer's fuzz target with its seed corpus, and the benchmark
# program (run by hand, not by ctest: see docs/bundles.md).
scfgate_unit_test(test_bundle ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_bundle.c)
target_link_libraries(test_bundle PRIVATE spool_testutil PkgConfig::ARCHIVE PkgConfig::CRYPTO)
target_include_directories(test_bundle PRIVATE ${CMAKE_SOURCE_DIR}/spool/internal)

scfgate_fuzz_target(fuzz_bundle ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_bundle.c)

add_executable(bundle_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/bundle_bench.c)
target_link_libraries(bundle_bench PRIVATE spool_testutil)

add_test(NAME bundle_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/bundle/cli_test.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:spool_fault_shim>)

# The real `scfgate bundle import` SIGKILLed at random moments: nothing
# torn or foreign ever visible in new/, and a last import completes it.
add_executable(import_crash ${CMAKE_CURRENT_SOURCE_DIR}/crash/import_crash.c)
target_link_libraries(import_crash PRIVATE spool_testutil)
add_test(NAME bundle_import_crash
         COMMAND import_crash $<TARGET_FILE:scfgate> ${CMAKE_CURRENT_BINARY_DIR}/import-crash-work)
set_tests_properties(bundle_import_crash PROPERTIES TIMEOUT 300)
add_test(NAME bundle_import_crash_long
         COMMAND import_crash $<TARGET_FILE:scfgate> ${CMAKE_CURRENT_BINARY_DIR}/import-crash-long 250)
set_tests_properties(bundle_import_crash_long PROPERTIES TIMEOUT 3600)

# Encrypted bundles end to end: keygen --x25519, export --encrypt-to, the
# receiving half's configuration, tampering, wrong keys, the policy switch.
add_test(NAME bundle_seal_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/bundle/seal_cli_test.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR})

scfgate_tier(integration bundle_cli bundle_seal_cli)
scfgate_tier(crash bundle_import_crash)
scfgate_tier(soak bundle_import_crash_long)
