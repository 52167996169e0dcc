# What the two halves share (gateway/run/half.h).
scfgate_unit_test(test_half ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_half.c)
