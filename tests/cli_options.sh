#!/bin/sh
# cli_options.sh SCFGATE: every command parses its options the same way
# (gateway/cli/cli.h, cli_opt): `--opt=VALUE` and `--opt VALUE` both work for
# a sample of commands and sub-commands, and an unknown option, a missing
# value, a value given to a flag, an abbreviation and another
# sub-command's option each give the one usage line, exit 2.
bin=$1
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
fail() { echo "cli_options: $*" >&2; exit 1; }

# usage EXPECTED-LINE ARGS...: exit 2 and exactly that one line on stderr.
usage() {
	want=$1
	shift
	"$bin" "$@" >"$d/out" 2>"$d/err"
	rc=$?
	[ $rc = 2 ] || fail "$*: exit $rc, not 2 ($(cat "$d/err"))"
	[ "$(cat "$d/err")" = "$want" ] || fail "$*: '$(cat "$d/err")', not '$want'"
	[ ! -s "$d/out" ] || fail "$*: printed on stdout"
}

# keygen: --dir=D --name=N, and the separate forms.
"$bin" keygen --dir="$d" --name=scf --json >"$d/k1" || fail "keygen --dir=D --name=N"
grep -q '"private":".*/scf.key"' "$d/k1" || fail "keygen --json: $(cat "$d/k1")"
"$bin" keygen --dir "$d" --name oms >/dev/null || fail "keygen --dir D --name N"
[ -f "$d/scf.pub" ] && [ -f "$d/oms.pub" ] || fail "keygen made no keys"

# config example: --half=oms and --half oms print the same OMS example.
"$bin" config example --half=oms >"$d/e1" || fail "config example --half=oms"
"$bin" config example --half oms >"$d/e2" || fail "config example --half oms"
cmp -s "$d/e1" "$d/e2" || fail "--half=oms and --half oms differ"
"$bin" config example >"$d/e3" || fail "config example"
cmp -s "$d/e1" "$d/e3" && fail "--half=oms printed the SCF example"

# spool: --root=DIR and --queue=Q on a fresh spool root, before and after
# the sub-command's argument.
mkdir -p "$d/spool/outbound/new" "$d/spool/outbound/cur" || exit 1
"$bin" spool ls --root="$d/spool" --queue=outbound --json >"$d/l1" ||
	fail "spool ls --root=DIR --queue=Q: $(cat "$d/l1")"
"$bin" spool ls --json --root "$d/spool" --queue outbound >"$d/l2" || fail "spool ls --root DIR"
cmp -s "$d/l1" "$d/l2" || fail "spool ls: the two forms differ"
"$bin" spool stat --root="$d/spool" --json >/dev/null || fail "spool stat --root=DIR"

# find: --root=DIR with the ID before or after it; nothing found is exit 1.
"$bin" find 4242 --root="$d/spool" >/dev/null 2>&1
[ $? = 1 ] || fail "find ID --root=DIR did not search"
"$bin" find --root "$d/spool" -- 4242 >/dev/null 2>&1
[ $? = 1 ] || fail "find --root DIR -- ID did not search"

# bundle: --pubkey=FILE reaches the verification (the bundle is missing).
"$bin" bundle verify "$d/none.bundle" --pubkey="$d/scf.pub" >/dev/null 2>"$d/err"
[ $? = 1 ] || fail "bundle verify --pubkey=FILE: $(cat "$d/err")"
grep -q 'none.bundle' "$d/err" || fail "bundle verify: $(cat "$d/err")"

# report: --issue=ID is checked like --issue ID.
usage "scfgate report: --issue needs an SCF issue id (a number)" report --html=x.html --issue=abc
usage "scfgate report: --issue needs an SCF issue id (a number)" report --html x.html --issue abc

# -c FILE and --config=FILE are --config FILE: the file is read.
for form in "-c $d/nope.xml" "-c$d/nope.xml" "--config=$d/nope.xml" "--config $d/nope.xml"; do
	for cmd in status transfer; do
		# shellcheck disable=SC2086
		"$bin" $cmd $form >/dev/null 2>"$d/err"
		[ $? = 1 ] && grep -q "nope.xml" "$d/err" || fail "$cmd $form: $(cat "$d/err")"
	done
done

# The one form of a usage error.
usage "scfgate status: unknown argument --bogus (see --help)" status --bogus
usage "scfgate status: unknown argument --jso (see --help)" status --jso
usage "scfgate status: unknown argument -x (see --help)" status -x
usage "scfgate status: --json takes no value (see --help)" status --json=yes
usage "scfgate status: --config needs a value (see --help)" status --config
usage "scfgate status: -c needs a value (see --help)" status -c
usage "scfgate keygen: --dir needs a value (see --help)" keygen --name scf --dir
usage "scfgate spool: ls: unknown argument --all (see --help)" spool ls --root "$d/spool" --all
usage "scfgate spool: ls: --root needs a value (see --help)" spool ls --root
usage "scfgate transfer: unknown argument extra (see --help)" transfer extra
usage "scfgate scf census: --window-days needs 1 to 3650" scf census --window-days=0
usage "scfgate scf census: --log-json takes no value (see --help)" scf census --log-json=1
# an id is decimal digits only, as every command reads one (cli_id)
usage "scfgate scf resync: bad issue id +12" scf resync --issue 5 +12
usage "scfgate scf resync: --request-type needs a positive id" scf resync --request-type=+7
usage "scfgate report: --issue needs an SCF issue id (a number)" report --issue " 12"
usage "scfgate preview: --oid needs a positive number" preview --oid=+5
usage "scfgate preview: --oid needs a positive number" preview --oid " 5"
usage "scfgate preview: --oid needs a positive number" preview --oid 9223372036854775808
usage "scfgate config: example: unknown argument --half-way (see --help)" config example --half-way=1
usage "scfgate: unknown argument --bogus (see --help)" --bogus
"$bin" --version | grep -q '^scfgate ' || fail "--version"
"$bin" status --help | grep -q '^usage: scfgate status' || fail "status --help"
exit 0
