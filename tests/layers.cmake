# The include rules of the layers (README "Layout", tools/check-layers):
# also enforced by the build; this names the line that breaks them.
add_test(NAME check_layers COMMAND ${CMAKE_SOURCE_DIR}/tools/check-layers ${CMAKE_SOURCE_DIR})
scfgate_tier(build check_layers)
