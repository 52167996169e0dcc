# The HTTP client (against a scripted libmicrohttpd server on loopback)
# and the daemon log.
scfgate_unit_test(test_http ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http.c)
target_link_libraries(test_http PRIVATE PkgConfig::MHD pthread)
set_tests_properties(test_http PROPERTIES TIMEOUT 60)
scfgate_unit_test(test_log ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_log.c)
