# `scfgate report` (gateway/ops/report.c, report_html.c, cmd_report.c): the
# unit test of its escaping and of the data it collects, and e2e_report,
# the page of a real pair with hostile values loaded in headless chromium
# (Debian's package, tools/run setup).
scfgate_unit_test(test_report ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_report.c)
if(TARGET scf-sim AND TARGET oms-sim AND TARGET e2e-tool)
  add_test(NAME e2e_report
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/report.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(e2e_report PROPERTIES TIMEOUT 180)
  scfgate_tier(e2e e2e_report)
endif()
scfgate_fuzz_target(fuzz_report ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_report.c)
