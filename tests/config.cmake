# Configuration (gateway/cfg*.c) and mapping (gateway/map*.c).
scfgate_unit_test(test_cfg ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cfg.c)
scfgate_unit_test(test_map ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_map.c)
scfgate_fuzz_target(fuzz_config ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_config.c)
scfgate_fuzz_target(fuzz_scf_issue ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_scf_issue.c)

# The printed example passes `config check` once its files exist, and a
# broken file fails it with FILE:LINE (the command, not just the library).
add_test(NAME config_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/config/cli_test.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/config)

# config.xsd is an ordinary schema: the real xmllint accepts the documented
# examples with it (the semantic checks are scfgate's own).
find_program(XMLLINT xmllint)
if(XMLLINT)
  add_test(NAME config_examples_xmllint
           COMMAND ${XMLLINT} --noout --schema ${CMAKE_SOURCE_DIR}/schemas/config.xsd
                   ${CMAKE_CURRENT_SOURCE_DIR}/data/config/riverton-scf.xml
                   ${CMAKE_CURRENT_SOURCE_DIR}/data/config/riverton-oms.xml)
  scfgate_tier(unit config_examples_xmllint)
endif()

# The JSON output builder (util/jdoc.c): whole documents or none.
scfgate_unit_test(test_jdoc ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_jdoc.c)

# `scfgate preview`: what would be sent for a saved SCF issue or a record
# file, with a configuration's templates, and nothing sent.
add_test(NAME preview_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/config/preview_test.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_CURRENT_SOURCE_DIR}/data)

# The default configurations (/etc/scfgate/scf.xml and oms.xml, here under
# SCFGATE_CONFIG_DIR): every command family without --config, the refusal
# when both exist, and bundle --config between two hosts.
add_test(NAME default_config_paths
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/config/default_paths_test.sh
                 $<TARGET_FILE:scfgate> ${CMAKE_SOURCE_DIR})

# `scfgate spool init`: both queues with owners and modes, the transport
# group's new/, idempotence, and the roots it refuses.
add_test(NAME spool_init_cli
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/data/config/spool_init_test.sh
                 $<TARGET_FILE:scfgate> ${CMAKE_SOURCE_DIR})

# Every command's options through one getopt_long parser (gateway/cli/cli.h):
# --opt=VALUE beside --opt VALUE for a sample of commands, and the one
# usage line for an unknown option, a missing value, a value to a flag.
add_test(NAME cli_options COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_options.sh $<TARGET_FILE:scfgate>)

scfgate_tier(integration config_cli preview_cli default_config_paths spool_init_cli cli_options)
