# The bash completion (tools/completion/scfgate.bash) offers every command
# and option that --help prints, queue names and record names.
find_program(BASH bash)
if(BASH)
  add_test(NAME bash_completion
           COMMAND ${BASH} ${CMAKE_CURRENT_SOURCE_DIR}/completion.sh $<TARGET_FILE:scfgate>
                   ${CMAKE_SOURCE_DIR}/tools/completion/scfgate.bash)
  scfgate_tier(integration bash_completion)
endif()
