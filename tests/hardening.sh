#!/bin/sh
# hardening.sh FORTIFY BINARY...: each installed program is built the way
# CMakeLists.txt promises (SCFGATE_HARDEN): a position-independent
# executable, full RELRO (a GNU_RELRO segment and BIND_NOW), a stack
# protector (calls __stack_chk_fail), and, when FORTIFY is 1 (an
# optimised build without a sanitizer), _FORTIFY_SOURCE's checked
# functions (__*_chk).  readelf comes with binutils (build-essential).
set -eu
fortify=$1
shift
fail=0
# check BIN WHAT READELF-OPTION PATTERN: one ok / not ok line
check() {
	if readelf "$3" -W "$1" | grep -Eq "$4"; then
		echo "ok - $(basename "$1"): $2"
	else
		echo "not ok - $(basename "$1"): $2 (readelf $3 has no /$4/)" >&2
		fail=1
	fi
}
for bin in "$@"; do
	check "$bin" "PIE" -h 'Type:[[:space:]]+DYN'
	check "$bin" "RELRO" -l 'GNU_RELRO'
	check "$bin" "BIND_NOW" -d '\(BIND_NOW\)|\(FLAGS_1\).*NOW'
	check "$bin" "stack protector" --dyn-syms '__stack_chk_fail'
	if [ "$fortify" = 1 ]; then
		check "$bin" "_FORTIFY_SOURCE" --dyn-syms ' __[a-z_]+_chk(@|$)'
	else
		echo "ok - $(basename "$bin"): _FORTIFY_SOURCE not expected (no optimisation, or a sanitizer)"
	fi
done
exit $fail
