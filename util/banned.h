/*
 * banned.h: C library functions scfgate code must not call.
 *
 * Contract
 *   Every C file of the project (libraries, programs, simulators, tests)
 *   is compiled with `-include banned.h` (CMakeLists.txt), so a call to
 *   a function below fails to compile, with the function's name in the
 *   error: "sorry_strcpy_is_a_banned_function" undeclared.  tools/run
 *   lint also greps the sources for them, for code no build compiles.
 *
 *   Why each is banned, and what to use instead:
 *     strcpy, strcat, strncpy, strncat, sprintf, vsprintf
 *         no bound, or a bound that silently leaves the result
 *         unterminated or truncated: snprintf / vsnprintf (check the
 *         result when truncation matters), memcpy with a known length,
 *         or a struct buf (buf.h).
 *     gets     cannot be used safely at all: fgets or getline.
 *     strtok   hidden static state: strtok_r.
 *     atoi, atol, atoll, atof
 *         no error report and undefined behaviour on overflow: strtol,
 *         strtoull, strtod (with endptr and errno where the input is
 *         not trusted).
 *     tmpnam, tempnam, mktemp
 *         a name another process can take first: mkstemp, mkdtemp.
 *     asctime, ctime, gmtime, localtime
 *         a shared static result: the _r variants.
 *
 *   The headers that declare these functions are included first, so
 *   their declarations are seen before the macros below exist, and only
 *   the calls are caught.
 */
#ifndef SCFGATE_BANNED_H
#define SCFGATE_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(...) BANNED(strcpy)
#undef strcat
#define strcat(...) BANNED(strcat)
#undef strncpy
#define strncpy(...) BANNED(strncpy)
#undef strncat
#define strncat(...) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(...) BANNED(gets)
#undef strtok
#define strtok(...) BANNED(strtok)
#undef atoi
#define atoi(...) BANNED(atoi)
#undef atol
#define atol(...) BANNED(atol)
#undef atoll
#define atoll(...) BANNED(atoll)
#undef atof
#define atof(...) BANNED(atof)
#undef tmpnam
#define tmpnam(...) BANNED(tmpnam)
#undef tempnam
#define tempnam(...) BANNED(tempnam)
#undef mktemp
#define mktemp(...) BANNED(mktemp)
#undef asctime
#define asctime(...) BANNED(asctime)
#undef ctime
#define ctime(...) BANNED(ctime)
#undef gmtime
#define gmtime(...) BANNED(gmtime)
#undef localtime
#define localtime(...) BANNED(localtime)

#endif
