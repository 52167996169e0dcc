# Encrypted bundles (spool/seal.[ch]): the unit test with the fixed
# vectors of tests/data/seal, tamper and cut tests; the vectors' key
# schedule recomputed with the openssl command line; the fuzz target of
# the header and chunk parser.
scfgate_unit_test(test_seal ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_seal.c)
target_include_directories(test_seal PRIVATE ${CMAKE_SOURCE_DIR}/spool/internal)

add_test(NAME seal_vector_openssl
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/seal/vector_openssl.sh
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/seal)

scfgate_fuzz_target(fuzz_seal ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_seal.c)

scfgate_tier(unit seal_vector_openssl)
