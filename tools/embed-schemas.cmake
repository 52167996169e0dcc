# Turn every schemas/*.xsd into a C string named <base>_xsd_text
# (record.xsd -> record_xsd_text).  Run with -DSRC=dir -DOUT=file.c.
file(GLOB xsds ${SRC}/*.xsd)
list(SORT xsds)
set(code "/* Generated from the schemas folder by tools/embed-schemas.cmake. */\n")
foreach(xsd ${xsds})
  get_filename_component(base ${xsd} NAME_WE)
  string(MAKE_C_IDENTIFIER ${base} ident)
  file(READ ${xsd} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND code "const char ${ident}_xsd_text[] = {${bytes} 0x00};\n")
endforeach()
file(WRITE ${OUT}.tmp "${code}")
file(RENAME ${OUT}.tmp ${OUT})
