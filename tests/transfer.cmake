# scfgate transfer against a real OpenSSH server (sshd with internal-sftp)
# on a loopback port; openssh-server and openssh-client come from
# tools/run setup.  Skipped (77) only when /usr/sbin/sshd is absent.  About
# 70 s on a loaded 2-CPU machine (the kill rounds, the server outage and
# the status sections); the timeout leaves room for a full parallel run.
add_test(NAME transfer_sftp
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/transfer_sftp.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(transfer_sftp PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)

# tests/sshd_lib.sh when the port it chose is taken before sshd binds it:
# another port, or with same-port the same one once free; a few seconds.
add_test(NAME transfer_sshd_lib COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/sshd_lib_test.sh
                                        ${CMAKE_SOURCE_DIR})
set_tests_properties(transfer_sshd_lib PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)

# scfgate transfer one way into a local drop directory (a data diode's):
# no SSH server needed.
add_test(NAME transfer_diode
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/transfer_diode.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(transfer_diode PROPERTIES TIMEOUT 90)

# The rsync recipe of docs/operations.md (tools/rsync/scfgate-rsync) against
# a real sshd with rrsync; rsync comes from tools/run setup.
add_test(NAME transfer_rsync COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/transfer_rsync.sh
                                     ${CMAKE_SOURCE_DIR})
set_tests_properties(transfer_rsync PROPERTIES TIMEOUT 150 SKIP_RETURN_CODE 77)

scfgate_tier(integration transfer_sftp transfer_diode transfer_rsync transfer_sshd_lib)
