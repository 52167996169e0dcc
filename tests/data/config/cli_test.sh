#!/bin/sh
# cli_test.sh SCFGATE DATADIR: `scfgate config` as an operator runs it.
set -u
bin=$1
data=$2
dir=$(mktemp -d /tmp/scfgate-cfgcli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for half in scf oms; do
	mkdir -p "$dir/$half/spool" "$dir/$half/etc"
	: >"$dir/$half/etc/$half.key"
	chmod 600 "$dir/$half/etc/$half.key"
	other=oms; [ $half = oms ] && other=scf
	: >"$dir/$half/etc/$other.pub"
	echo secret >"$dir/$half/etc/scf.token"
	echo user:pw >"$dir/$half/etc/cartegraph.cred"
	"$bin" config example --half $half >"$dir/$half/raw.xml" || fail "example --half $half"
	sed -e "s#/var/spool/scfgate#$dir/$half/spool#" -e "s#/etc/scfgate#$dir/$half/etc#g" \
		"$dir/$half/raw.xml" >"$dir/$half/cfg.xml"
	"$bin" config check "$dir/$half/cfg.xml" >"$dir/out" 2>"$dir/err" ||
		fail "example ($half) does not pass check: $(cat "$dir/err")"
	grep -q "^half: $half\$" "$dir/out" || fail "check output lacks half: $half"
	"$bin" config check --json "$dir/$half/cfg.xml" >"$dir/out.json" || fail "check --json"
	grep -q '"half":	"'$half'"' "$dir/out.json" || fail "json lacks half"
done

# the worked example of docs/configuration.md (same text as riverton-*.xml)
mkdir -p "$dir/rv/spool" "$dir/rv/etc"
for f in scf.key scf.pub oms.key oms.pub scf.token cartegraph.cred; do
	: >"$dir/rv/etc/$f"
	chmod 600 "$dir/rv/etc/$f"
done
for half in scf oms; do
	sed -e "s#/var/spool/scfgate#$dir/rv/spool#" -e "s#/etc/scfgate#$dir/rv/etc#g" \
		"$data/riverton-$half.xml" >"$dir/rv/$half.xml"
	"$bin" config check "$dir/rv/$half.xml" >/dev/null 2>"$dir/err" ||
		fail "riverton-$half.xml: $(cat "$dir/err")"
done

# a private key others may read is refused (config check applies the
# check a half applies at start), naming the file and the fix
chmod 644 "$dir/scf/etc/scf.key"
"$bin" config check "$dir/scf/cfg.xml" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "a 0644 private key passed config check"
grep -q "privateKey: $dir/scf/etc/scf.key: readable by group or others (mode 644); run chmod 600" \
	"$dir/err" || fail "key mode message: $(cat "$dir/err")"
"$bin" scf --once --config "$dir/scf/cfg.xml" >/dev/null 2>"$dir/err"
[ $? -ne 0 ] || fail "the scf half started with a 0644 private key"
grep -q "readable by group or others" "$dir/err" || fail "scf start: $(cat "$dir/err")"
chmod 600 "$dir/scf/etc/scf.key"

# an invalid file: exit 1 and FILE:LINE: element
"$bin" config check "$data/bad_placeholder.xml" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "bad file did not exit 1"
grep -q "bad_placeholder.xml:[0-9]*: closingMessage: unknown placeholder {ticket}" "$dir/err" ||
	fail "unexpected error: $(cat "$dir/err")"

# bad usage: exit 2, one line
"$bin" config check >/dev/null 2>"$dir/err"
[ $? -eq 2 ] || fail "usage did not exit 2"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "usage error is not one line"
"$bin" config example --half xyz >/dev/null 2>&1
[ $? -eq 2 ] || fail "bad --half did not exit 2"
"$bin" config --help | grep -q import-csv || fail "--help"
"$bin" config check --help | grep -q "config check" || fail "check --help"

# a half started with the other half's configuration: exit 2, one line
# naming the half (the scf command once read the configuration after
# freeing it to write this line)
"$bin" scf --once --config "$dir/oms/cfg.xml" >/dev/null 2>"$dir/err"
[ $? -eq 2 ] || fail "scf with an oms configuration did not exit 2: $(cat "$dir/err")"
grep -q "is a configuration for the oms half" "$dir/err" || fail "scf: $(cat "$dir/err")"
"$bin" oms --once --config "$dir/scf/cfg.xml" >/dev/null 2>"$dir/err"
[ $? -eq 2 ] || fail "oms with an scf configuration did not exit 2: $(cat "$dir/err")"
grep -q "is a configuration for the scf half" "$dir/err" || fail "oms: $(cat "$dir/err")"

# import-csv
"$bin" config import-csv "$data/request_types.csv" >"$dir/types.xml" || fail "import-csv"
grep -q 'id="14550"' "$dir/types.xml" || fail "import-csv output"
printf 'id,title,remote\n1,A,B\nzz,C,D\n' >"$dir/bad.csv"
"$bin" config import-csv "$dir/bad.csv" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "bad csv did not exit 1"
grep -q "bad.csv:3:" "$dir/err" || fail "csv error lacks line: $(cat "$dir/err")"
echo ok
