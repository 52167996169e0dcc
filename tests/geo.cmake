# Geocoding (gateway/geo*.c): the pure parser and chooser on recorded
# answers, the client against the real geo-sim process, and the parser's
# fuzz corpus.  The tests link a small library of geo and the modules it
# uses (http and its waits, clock and sd_notify, log and its jdoc and num, credential files,
# buf, err) rather than all of
# libscfgw, so they keep building while other parts of the gateway are
# being changed.
add_library(scfgeo_test STATIC
  ${CMAKE_SOURCE_DIR}/gateway/api/geo.c ${CMAKE_SOURCE_DIR}/gateway/api/geo_parse.c
  ${CMAKE_SOURCE_DIR}/gateway/api/http.c ${CMAKE_SOURCE_DIR}/util/log.c
  ${CMAKE_SOURCE_DIR}/util/jdoc.c ${CMAKE_SOURCE_DIR}/util/num.c
  ${CMAKE_SOURCE_DIR}/util/sigs.c ${CMAKE_SOURCE_DIR}/util/notify.c
  ${CMAKE_SOURCE_DIR}/util/when.c
  ${CMAKE_SOURCE_DIR}/gateway/cfg/cfg_secret.c
  ${CMAKE_SOURCE_DIR}/util/buf.c ${CMAKE_SOURCE_DIR}/util/err.c)
target_include_directories(scfgeo_test PUBLIC ${CMAKE_SOURCE_DIR}/gateway/api ${CMAKE_SOURCE_DIR}/gateway/cfg
                                              ${CMAKE_SOURCE_DIR}/spool ${CMAKE_SOURCE_DIR}/util)
target_link_libraries(scfgeo_test PUBLIC PkgConfig::CURL PkgConfig::CJSON PkgConfig::SYSTEMD m)
target_compile_definitions(scfgeo_test PUBLIC SCFGATE_VERSION="${PROJECT_VERSION}")

function(scfgate_geo_test name src)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE scfgeo_test PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120
    ENVIRONMENT "SCFGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};GEO_SIM_BIN=$<TARGET_FILE:geo-sim>")
endfunction()

scfgate_geo_test(test_geo_parse ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_geo_parse.c)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_geo_sim.c)
  scfgate_geo_test(test_geo_sim ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_geo_sim.c)
  add_dependencies(test_geo_sim geo-sim)
  set_tests_properties(test_geo_sim PROPERTIES LABELS sim)
  scfgate_tier(integration test_geo_sim)
endif()

# The parser fuzz target (as scfgate_fuzz_target, on the library above).
add_executable(fuzz_geo_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_geo.c
                               ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.c)
target_link_libraries(fuzz_geo_replay PRIVATE scfgeo_test)
add_test(NAME fuzz_geo_corpus
         COMMAND fuzz_geo_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/fuzz_geo)
scfgate_tier(fuzz fuzz_geo_corpus)
scfgate_tier(unit test_geo_parse)
if(SCFGATE_FUZZ)
  add_executable(fuzz_geo_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_geo.c)
  target_compile_options(fuzz_geo_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_geo_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_geo_fuzz PRIVATE scfgeo_test)
endif()
