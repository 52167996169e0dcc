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
