# Checks of the build itself (label "build").
#   hardening   the installed programs carry the hardening flags
#               (tests/hardening.sh); quick, in the default run.
if(SCFGATE_HARDEN)
  if(SCFGATE_FORTIFY)
    set(fortify 1)
  else()
    set(fortify 0)
  endif()
  set(hardened $<TARGET_FILE:scfgate> $<TARGET_FILE:scf-sim> $<TARGET_FILE:geo-sim>)
  if(TARGET oms-sim)
    list(APPEND hardened $<TARGET_FILE:oms-sim>)
  endif()
  add_test(NAME hardening COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/hardening.sh ${fortify} ${hardened})
  set_tests_properties(hardening PROPERTIES LABELS build)
endif()

# On demand only (they take minutes): registered for the configuration
# "ondemand", so a plain ctest run leaves them out and
#   ctest --test-dir build-asan -C ondemand -L build   (or -L lint)
# runs them.
#   lint        tools/run lint: clang-tidy, the banned functions, clang-format
#   buildcheck  tools/run buildcheck: the build matrix, gcc and clang
find_program(CLANG_TIDY clang-tidy)
if(CLANG_TIDY)
  add_test(NAME lint CONFIGURATIONS ondemand COMMAND ${CMAKE_SOURCE_DIR}/tools/run lint)
  set_tests_properties(lint PROPERTIES LABELS lint TIMEOUT 900)
  scfgate_tier(build lint)
endif()
add_test(NAME buildcheck CONFIGURATIONS ondemand COMMAND ${CMAKE_SOURCE_DIR}/tools/run buildcheck)
set_tests_properties(buildcheck PROPERTIES LABELS build TIMEOUT 3600)
