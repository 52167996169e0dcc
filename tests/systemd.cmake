# The systemd units (tools/systemd): valid, and hardened.  Needs
# systemd-analyze and systemd-sysusers from Debian's systemd package,
# which tools/run setup installs; a hand build without them skips it.
find_program(SYSTEMD_ANALYZE systemd-analyze)
find_program(SYSTEMD_SYSUSERS systemd-sysusers)
if(SYSTEMD_ANALYZE AND SYSTEMD_SYSUSERS)
  add_test(NAME systemd_units
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/systemd_units.sh ${SYSTEMD_ANALYZE}
                   ${SYSTEMD_SYSUSERS} ${CMAKE_BINARY_DIR}/tools/systemd/test
                   ${CMAKE_SOURCE_DIR}/tools/systemd/scfgate.sysusers)
  scfgate_tier(integration systemd_units)
endif()
