#!/bin/sh
# man_pages.sh SCFGATE MANDOC MANDIR XSD: the manual pages in MANDIR are
# clean for `mandoc -Tlint` (no warning or error), scfgate.xml(5) shows
# every element (<name) and attribute (name=) of the configuration
# schema XSD, and scfgate(1) names
# every command that `scfgate --help` lists and every option that
# `scfgate --help`, each `scfgate COMMAND --help` and
# `scfgate scf resync --help` print, so a new option cannot ship
# undocumented.
set -eu
scfgate=$1 mandoc=$2 dir=$3 xsd=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for page in "$dir"/scfgate.1 "$dir"/scfgate.xml.5 "$dir"/scfgate-spool.7; do
	[ -f "$page" ] || { echo "not ok - $page is missing" >&2; exit 1; }
	if ! "$mandoc" -Tlint -W warning "$page" >"$work/lint" 2>&1 || [ -s "$work/lint" ]; then
		cat "$work/lint" >&2
		echo "not ok - mandoc -Tlint: $(basename "$page")" >&2
		exit 1
	fi
	echo "ok - mandoc -Tlint: $(basename "$page")"
done
# One line per paragraph item, no hyphenation: options are found whole.
"$mandoc" -Tascii -O width=400 "$dir/scfgate.1" | sed 's/.\x08//g' >"$work/page"
"$scfgate" --help >"$work/help"
commands=$(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$work/help")
[ -n "$commands" ] || { echo "not ok - no commands in scfgate --help" >&2; exit 1; }
: >"$work/all"
cat "$work/help" >>"$work/all"
for c in $commands; do
	grep -qE "(^|[^a-z-])scfgate $c([^a-z-]|\$)" "$work/page" ||
		{ echo "not ok - scfgate.1 does not show the command '$c'" >&2; exit 1; }
	"$scfgate" "$c" --help >>"$work/all" 2>&1
done
"$scfgate" scf resync --help >>"$work/all" 2>&1
options=$(grep -oE -- '--[a-z][a-z0-9-]*' "$work/all" | sort -u)
n=0
for o in $options; do
	grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$work/page" ||
		{ echo "not ok - scfgate.1 does not document $o" >&2; exit 1; }
	n=$((n + 1))
done
[ "$n" -ge 20 ] || { echo "not ok - only $n options found in --help" >&2; exit 1; }
echo "ok - scfgate.1 names $(echo $commands | wc -w) commands and all $n options of --help"

"$mandoc" -Tascii -O width=400 "$dir/scfgate.xml.5" | sed 's/.\x08//g' >"$work/page5"
n=0
for e in $(grep -oE '<xs:element name="[A-Za-z]+"' "$xsd" | sed 's/.*name="//; s/"//' | sort -u); do
	grep -qE "<$e[ >]" "$work/page5" || { echo "not ok - scfgate.xml.5 does not show <$e>" >&2; exit 1; }
	n=$((n + 1))
done
for a in $(grep -oE '<xs:attribute name="[A-Za-z]+"' "$xsd" | sed 's/.*name="//; s/"//' | sort -u); do
	grep -qE "[ (]$a=" "$work/page5" || { echo "not ok - scfgate.xml.5 does not show $a=" >&2; exit 1; }
	n=$((n + 1))
done
[ "$n" -ge 50 ] || { echo "not ok - only $n names in $xsd" >&2; exit 1; }
echo "ok - scfgate.xml.5 shows all $n elements and attributes of $(basename "$xsd")"
