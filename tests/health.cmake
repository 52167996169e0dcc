# The health record (gateway/run/health.c) and the metrics writer
# (gateway/run/metrics.c); the halves and status on real processes are
# e2e_health and e2e_metrics (e2e.cmake).
scfgate_unit_test(test_health ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_health.c)
