# End to end: both halves as separate processes on the simulators, each
# with its own spool root and keys, records carried by a file-copy
# transport (tools/e2e/lib.sh).  Scripts take the build directory.
#   e2e_status     `scfgate status` on real spools (gap, alarm, failed)
#   e2e_health     status verdicts from each half's last pass: a 503 outage,
#                  a full disk, a 401 fixed, a stuck record, junk in new/
#   e2e_metrics    the metrics files of a real run: promtool parses them,
#                  counters equal the simulators' counts; the example
#                  alerting rules pass promtool check/test rules
#   e2e_lifecycle  many issues through their life; files out of order,
#                  twice and in pieces; a forged inbound record; unmapped
#                  types; an Archived issue; exact oracle
#   e2e_hostile    a compromised DMZ host writes every kind of hostile
#                  entry among good records and bundles; the OMS half
#                  applies the good ones only, reads nothing outside the
#                  spool, and status names each hostile entry
#   e2e_ops        signals, reload, sd_notify, journald, --log-json
#   e2e_reopen     an issue reopened in SCF after its request was closed,
#                  under each reopen policy; a re-sent re-created issue and
#                  an OMS crash mid-create make no second new request
#   e2e_reinject_once, e2e_reinject_daemon  failed issue records retried
#                  and their held records released in every order, with
#                  the OMS half stopped or running: applied in sequence
#                  order (two tests, one round each, so -j runs them apart)
#   e2e_act        spool ls (kind, issue), stat (age histogram), dismiss,
#                  retry --all and --now, find by issue id, Oid and IDField
#   e2e_reconcile  every kind of drift in both simulators, a census and a
#                  reconciliation (classes exact on both hosts), reconcile
#                  --repair and what a person does, then all in sync; oracle
#   e2e_recon_status  status on a reconciliation Cartegraph refuses (ATTENTION
#                  with the census and the way out, cleared by one that
#                  works) and on census or result parts that stopped coming
#   e2e_soak       SIGKILL of either half at random points under API faults,
#                  20 s of chaos (SCFGATE_SOAK_SECONDS overrides); exact oracle
#   e2e_soak_long  the same for 600 s (label soak: `tools/run soak`)
# The latency benchmark is tests/bench/e2e_bench.sh (not a test).
if(TARGET scf-sim AND TARGET oms-sim AND TARGET e2e-tool)
  set(e2e_tests status lifecycle reopen ops act reconcile recon_status)
  if(TARGET spool-demo) # hostile.sh forges records with `spool-demo sign`
    list(APPEND e2e_tests hostile)
  endif()
  foreach(t ${e2e_tests})
    add_test(NAME e2e_${t}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${t}.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(e2e_${t} PROPERTIES LABELS e2e TIMEOUT 600)
  endforeach()
  set_tests_properties(e2e_status PROPERTIES TIMEOUT 120)
  add_test(NAME e2e_soak
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/soak.sh ${CMAKE_BINARY_DIR} 20)
  set_tests_properties(e2e_soak PROPERTIES LABELS e2e TIMEOUT 300)
  add_test(NAME e2e_soak_long
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/soak.sh ${CMAKE_BINARY_DIR} 600)
  set_tests_properties(e2e_soak_long PROPERTIES LABELS e2e TIMEOUT 1800)
  set_tests_properties(e2e_ops PROPERTIES TIMEOUT 120)
  # health.sh fills the disk with the fault shim (ENOSPC on every write;
  # spool.cmake, included after this file, defines the target)
  add_test(NAME e2e_health
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/health.sh ${CMAKE_BINARY_DIR}
                   $<TARGET_FILE:spool_fault_shim>)
  set_tests_properties(e2e_health PROPERTIES LABELS e2e TIMEOUT 240)
  # metrics.sh needs promtool (Debian's prometheus package, tools/run setup)
  add_test(NAME e2e_metrics
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/metrics.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(e2e_metrics PROPERTIES LABELS e2e TIMEOUT 120)
  set_tests_properties(e2e_lifecycle PROPERTIES TIMEOUT 240)
  set_tests_properties(e2e_reopen PROPERTIES TIMEOUT 180)
  foreach(order once daemon)
    add_test(NAME e2e_reinject_${order}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/reinject.sh ${CMAKE_BINARY_DIR} ${order})
    set_tests_properties(e2e_reinject_${order} PROPERTIES LABELS e2e TIMEOUT 240)
    scfgate_tier(e2e e2e_reinject_${order})
  endforeach()
  set_tests_properties(e2e_act PROPERTIES TIMEOUT 120)
  set_tests_properties(e2e_reconcile PROPERTIES TIMEOUT 240)
  set_tests_properties(e2e_recon_status PROPERTIES TIMEOUT 180)
  if(TARGET spool-demo)
    set_tests_properties(e2e_hostile PROPERTIES TIMEOUT 180)
  endif()
  foreach(t ${e2e_tests} soak health metrics)
    scfgate_tier(e2e e2e_${t})
  endforeach()
  scfgate_tier(soak e2e_soak_long)
endif()
