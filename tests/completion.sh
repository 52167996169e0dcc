#!/bin/bash
# completion.sh SCFGATE COMPLETION: the bash completion offers every
# command of `scfgate --help`, every option that each command's --help
# prints (spool, bundle and config: across their sub-commands), the queue
# names, and the record names of the right sub-directory of a spool given
# by --root or by the <root> of --config.
set -eu
scfgate=$1
shopt -s extglob
# shellcheck source=/dev/null
. "$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "not ok - $*" >&2; exit 1; }

# offered LINE: the completions of LINE (the word after its last space).
offered() {
	read -r -a COMP_WORDS <<<"$1"
	case $1 in *' ') COMP_WORDS+=("") ;; esac
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_scfgate
	printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
has() { # LINE WORD...
	local line=$1 got w
	shift
	got=$(offered "$line")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || fail "'$line' does not offer $w (offers: $(echo $got))"
	done
}

commands=$("$scfgate" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
has "scfgate " $commands --help --version
echo "ok - commands: $(echo $commands)"


n=0
for c in oms status keygen preview transfer reconcile report; do
	for o in $("$scfgate" $c --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		[ "$o" = --help ] && continue
		has "scfgate $c --" "$o"; n=$((n + 1))
	done
done
# scf --help shows every usage: each option of it, of scf resync and of
# scf census --help under scf, scf resync or scf census.
has "scfgate scf " resync census
u=$( (offered "scfgate scf --"; offered "scfgate scf resync --"; offered "scfgate scf census --") | sort -u)
for o in $( ("$scfgate" scf --help; "$scfgate" scf resync --help; "$scfgate" scf census --help) 2>&1 |
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
	grep -qxF -- "$o" <<<"$u" || fail "none of 'scfgate scf', 'scf resync', 'scf census' offers $o"
	n=$((n + 1))
done
# spool, bundle, config: each option of --help under some sub-command.
union() { # CMD SUB...
	local c=$1 s
	shift
	for s in "$@"; do offered "scfgate $c $s --"; done | sort -u
}
for spec in "spool ls show verify stat hold release retry dismiss skip replay archive init" \
	"bundle export verify list import ack prune" "config check example import-csv"; do
	set -- $spec
	c=$1
	shift
	subs=$(offered "scfgate $c ")
	for s in "$@"; do grep -qxF "$s" <<<"$subs" || fail "'scfgate $c ' does not offer $s"; done
	u=$(union "$c" "$@")
	for o in $("$scfgate" $c --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qxF -- "$o" <<<"$u" || fail "no sub-command of '$c' offers $o"
		n=$((n + 1))
	done
done
echo "ok - all $n options of the commands' --help"

has "scfgate spool ls --queue " outbound inbound
has "scfgate spool ls --dir " new cur done failed hold all
has "scfgate config example --half " scf oms
echo "ok - queue names, spool directories, halves"

root=$work/spool
for q in outbound inbound; do mkdir -p "$root/$q/new" "$root/$q/failed" "$root/$q/hold" "$root/$q/done"; done
: >"$root/outbound/new/00000000000000000007-scf.xml"
: >"$root/outbound/failed/00000000000000000005-scf.xml"
: >"$root/inbound/hold/00000000000000000003-oms.xml"
[ "$(offered "scfgate spool retry --root $root --queue outbound 0")" = 00000000000000000005-scf.xml ] ||
	fail "retry offers $(offered "scfgate spool retry --root $root --queue outbound 0")"
[ "$(offered "scfgate spool hold --root $root --queue outbound ")" = 00000000000000000007-scf.xml ] ||
	fail "hold offers $(offered "scfgate spool hold --root $root --queue outbound ")"
printf '<scfgate half="oms">\n  <spool>\n    <root>%s</root>\n  </spool>\n</scfgate>\n' "$root" >"$work/oms.xml"
[ "$(offered "scfgate spool release --config $work/oms.xml ")" = 00000000000000000003-oms.xml ] ||
	fail "release with --config offers $(offered "scfgate spool release --config $work/oms.xml ")"
has "scfgate spool show --root $root " 00000000000000000007-scf.xml 00000000000000000005-scf.xml 00000000000000000003-oms.xml
# Neither --root nor --config: the default configuration's root, when one
# of the two defaults exists (as scfgate itself decides).
mkdir -p "$work/etc"
cp "$work/oms.xml" "$work/etc/oms.xml"
[ "$(SCFGATE_CONFIG_DIR=$work/etc offered "scfgate spool release ")" = 00000000000000000003-oms.xml ] ||
	fail "release with the default configuration offers $(SCFGATE_CONFIG_DIR=$work/etc offered "scfgate spool release ")"
echo "ok - record names from --root, from the <root> of --config and of the default, per sub-directory"
# report: --html and --json name the output file (elsewhere --json is a flag).
: >"$work/week.html"
has "scfgate report --html $work/wee" "$work/week.html"
has "scfgate report --json $work/wee" "$work/week.html"
has "scfgate status --json " --config
echo "ok - report's --html and --json take a file name"
