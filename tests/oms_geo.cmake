# The geocoder in the OMS half's create body (gateway/oms/oms_geo.c and
# map_cg_create_body_ex) against the real geo-sim process.
scfgate_unit_test(test_oms_geo ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_oms_geo.c)
target_link_libraries(test_oms_geo PRIVATE PkgConfig::CURL)
add_dependencies(test_oms_geo geo-sim)
set_tests_properties(test_oms_geo PROPERTIES LABELS sim TIMEOUT 120
  ENVIRONMENT "SCFGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};GEO_SIM_BIN=$<TARGET_FILE:geo-sim>")
scfgate_tier(integration test_oms_geo)
