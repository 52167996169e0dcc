# Bundles: unit tests (round trips, hostile archives, ack/prune, retention),
# the importer's fuzz target with its seed corpus, and the benchmark
# program (run by hand, not by ctest: see docs/bundles.md).
scfgate_unit_test(test_bundle ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_bundle.c)
target_link_libraries(test_bundle PRIVATE spool_testutil PkgConfig::ARCHIVE PkgConfig::CRYPTO)
target_include_directories(test_bundle PRIVATE ${CMAKE_SOURCE_DIR}/spool)

scfgate_fuzz_target(fuzz_bundle ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_bundle.c)

add_executable(bundle_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/bundle_bench.c)
target_link_libraries(bundle_bench PRIVATE spool_testutil)

add_test(NAME bundle_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/bundle/cli_test.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:spool_fault_shim>)
