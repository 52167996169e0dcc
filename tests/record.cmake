# Records and signatures: unit tests, the fuzz target, and a check of the
# sample records with the real xmllint.
scfgate_unit_test(test_record ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_record.c)
scfgate_unit_test(test_sig ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sig.c)
scfgate_unit_test(test_xmlgate ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_xmlgate.c)
scfgate_unit_test(test_err ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_err.c)
scfgate_unit_test(test_escape ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_escape.c)
scfgate_unit_test(test_when ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_when.c)
scfgate_fuzz_target(fuzz_record ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_record.c)

find_program(XMLLINT xmllint)
if(XMLLINT)
  add_test(NAME record_samples_xmllint
           COMMAND sh -c "set -e; n=0; for f in tests/data/records/*.xml; do \"$0\" --noout --schema schemas/record.xsd \"$f\"; n=$((n+1)); done; test $n -ge 5"
                   ${XMLLINT}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  scfgate_tier(unit record_samples_xmllint)
endif()

add_test(NAME keygen_cli COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/keygen_cli.sh $<TARGET_FILE:scfgate>)
scfgate_tier(integration keygen_cli)
