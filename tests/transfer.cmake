# scfgate transfer against a real OpenSSH server (sshd with internal-sftp)
# on a loopback port; openssh-server and openssh-client come from
# tools/run setup.  Skipped (77) only when /usr/sbin/sshd is absent.
add_test(NAME transfer_sftp
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/transfer_sftp.sh $<TARGET_FILE:scfgate>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(transfer_sftp PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
