# The manual pages (docs/man): clean for mandoc -Tlint, and scfgate(1)
# documents every command and option that --help prints.  mandoc comes
# with tools/run setup; a hand build without it skips the test.
find_program(MANDOC mandoc)
if(MANDOC)
  add_test(NAME man_pages
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/man_pages.sh $<TARGET_FILE:scfgate> ${MANDOC}
                   ${CMAKE_SOURCE_DIR}/docs/man ${CMAKE_SOURCE_DIR}/schemas/config.xsd)
  scfgate_tier(integration man_pages)
endif()
