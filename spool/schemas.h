/*
 * schemas.h: the XSDs of schemas/, embedded at build time by
 * tools/embed-schemas.cmake (one NUL-terminated string per file).
 */
#ifndef SCFGATE_SCHEMAS_H
#define SCFGATE_SCHEMAS_H

extern const char record_xsd_text[];

#endif
