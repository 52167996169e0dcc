# Kept-alive connections for writes: `scfgate oms` against oms-sim behind
# rtt-proxy, which cuts connections before, after and in the middle of an
# exchange; exactly once per issue, and fewer connections than requests.
if(TARGET oms_testutil AND TARGET rtt-proxy)
  add_executable(test_oms_reuse ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_oms_reuse.c)
  target_link_libraries(test_oms_reuse PRIVATE oms_testutil PkgConfig::CMOCKA)
  add_dependencies(test_oms_reuse oms-sim rtt-proxy scfgate)
  add_test(NAME test_oms_reuse COMMAND test_oms_reuse)
  set_tests_properties(test_oms_reuse PROPERTIES TIMEOUT 180 LABELS oms
    ENVIRONMENT "${OMS_TEST_ENV};RTT_PROXY_BIN=$<TARGET_FILE:rtt-proxy>")
  scfgate_tier(integration test_oms_reuse)
endif()
