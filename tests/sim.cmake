# Simulator tests: start the real scf-sim / oms-sim processes on --port 0
# and drive them with libcurl.  They need only the simulators and util/
# (its strict number readers), not the gateway libraries.
add_library(sim_harness STATIC ${CMAKE_SOURCE_DIR}/tests/integration/sim_harness.c)
target_include_directories(sim_harness PUBLIC ${CMAKE_SOURCE_DIR}/tests/integration)
target_link_libraries(sim_harness PUBLIC PkgConfig::CURL PkgConfig::CJSON scfutil)

function(scfgate_sim_test name)
  add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/integration/${name}.c)
  target_link_libraries(${name} PRIVATE sim_harness PkgConfig::CMOCKA)
  add_dependencies(${name} scf-sim)
  set(env "SCF_SIM_BIN=$<TARGET_FILE:scf-sim>")
  if(TARGET oms-sim)
    add_dependencies(${name} oms-sim)
    list(APPEND env "OMS_SIM_BIN=$<TARGET_FILE:oms-sim>")
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}" TIMEOUT 120 LABELS sim)
  scfgate_tier(integration ${name})
endfunction()

foreach(t test_sim_scf test_sim_faults test_sim_oms test_sim_oms_index)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/${t}.c)
    scfgate_sim_test(${t})
  endif()
endforeach()

# The load generator (a benchmark, not a test): build/tests/sim_bench --help
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/bench/sim_bench.c)
  add_executable(sim_bench ${CMAKE_SOURCE_DIR}/tests/bench/sim_bench.c)
  target_link_libraries(sim_bench PRIVATE sim_harness)
  add_dependencies(sim_bench scf-sim)
  if(TARGET oms-sim)
    add_dependencies(sim_bench oms-sim)
  endif()
endif()

# The oms-sim filter parser is a parser of outside input: fuzz it too.
scfgate_fuzz_target(fuzz_oms_filter ${CMAKE_SOURCE_DIR}/tools/sim/fuzz_oms_filter.c)
target_sources(fuzz_oms_filter_replay PRIVATE ${CMAKE_SOURCE_DIR}/tools/sim/oms-filter.c)
target_link_libraries(fuzz_oms_filter_replay PRIVATE scfsim)
if(SCFGATE_FUZZ)
  target_sources(fuzz_oms_filter_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/tools/sim/oms-filter.c)
  target_link_libraries(fuzz_oms_filter_fuzz PRIVATE scfsim)
endif()
