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
	chmod 600 "$dir/$half/etc/scf.token" "$dir/$half/etc/cartegraph.cred"
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
echo rv-token >"$dir/rv/etc/scf.token"
echo rv-user:rv-pw >"$dir/rv/etc/cartegraph.cred"
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

# every check the half makes at start, and never a secret in the output
sec=S3cr3t-Tok3n-0xC0FFEE
cp "$dir/oms/cfg.xml" "$dir/oms/start.xml"
printf 'gw:%s\n' "$sec" >"$dir/oms/etc/cartegraph.cred"
chmod 644 "$dir/oms/etc/cartegraph.cred"
for j in "" --json; do
	"$bin" config check $j "$dir/oms/start.xml" >"$dir/out" 2>"$dir/err"
	[ $? -eq 1 ] || fail "a 0644 credential file passed check $j"
	grep -q "start.xml: <cartegraph> credentials: credential file $dir/oms/etc/cartegraph.cred: readable by group or others (mode 644); run chmod 600" \
		"$dir/err" || fail "0644 credential file: $(cat "$dir/err")"
	! grep -q "$sec" "$dir/out" "$dir/err" || fail "check $j printed the secret"
done
chmod 600 "$dir/oms/etc/cartegraph.cred"
"$bin" config check "$dir/oms/start.xml" >"$dir/out" 2>"$dir/err" ||
	fail "0600 credential file refused: $(cat "$dir/err")"
! grep -q "$sec" "$dir/out" "$dir/err" || fail "check printed the secret"
echo "$sec" >"$dir/oms/etc/cartegraph.cred"
"$bin" config check "$dir/oms/start.xml" >"$dir/out" 2>"$dir/err"
[ $? -eq 1 ] || fail "a credential without user:password passed check"
grep -q "must hold user:password" "$dir/err" || fail "no user:password: $(cat "$dir/err")"
! grep -q "$sec" "$dir/out" "$dir/err" || fail "check printed the secret"
echo "gw:$sec" >"$dir/oms/etc/cartegraph.cred"
# credentials in a URL: user:password@ or a token in the query
for url in "https://gw:$sec@cgweb06.cartegraphoms.com/RivertonST" \
	"https://cgweb06.cartegraphoms.com/RivertonST?token=$sec" \
	"http://gw:$sec@example.org/RivertonST"; do
	sed -e "s#https://cgweb06.cartegraphoms.com/RivertonST#$url#" "$dir/oms/cfg.xml" \
		>"$dir/oms/url.xml"
	for j in "" --json; do
		"$bin" config check $j "$dir/oms/url.xml" >"$dir/out" 2>"$dir/err"
		[ $? -eq 1 ] || fail "$url passed check $j"
		grep -q "url.xml:[0-9]*: baseUrl: a URL may not carry credentials" "$dir/err" ||
			fail "URL with credentials: $(cat "$dir/err")"
		! grep -q "$sec" "$dir/out" "$dir/err" || fail "check $j printed the secret in $url"
	done
done
# the scf half: a bearer token file of mode 0640
chmod 640 "$dir/scf/etc/scf.token"
"$bin" config check "$dir/scf/cfg.xml" >"$dir/out" 2>"$dir/err"
[ $? -eq 1 ] || fail "a 0640 token file passed check"
grep -q "<scf> credentials: credential file .*scf.token: readable by group or others (mode 640)" \
	"$dir/err" || fail "0640 token: $(cat "$dir/err")"
! grep -q secret "$dir/out" "$dir/err" || fail "check printed the token"
chmod 600 "$dir/scf/etc/scf.token"
# caFile: must exist
sed -e "s#<concurrency>2</concurrency>#<concurrency>2</concurrency><caFile>$dir/none.pem</caFile>#" \
	"$dir/oms/cfg.xml" >"$dir/oms/ca.xml"
"$bin" config check "$dir/oms/ca.xml" >"$dir/out" 2>"$dir/err"
[ $? -eq 1 ] || fail "a missing caFile passed check"
grep -q "ca.xml:[0-9]*: caFile: $dir/none.pem: No such file" "$dir/err" ||
	fail "missing caFile: $(cat "$dir/err")"
echo pem >"$dir/ca.pem"
sed -e "s#$dir/none.pem#$dir/ca.pem#" "$dir/oms/ca.xml" >"$dir/oms/ca2.xml"
"$bin" config check "$dir/oms/ca2.xml" >"$dir/out" 2>"$dir/err" || fail "caFile: $(cat "$dir/err")"
grep -q "CA file: $dir/ca.pem" "$dir/out" || fail "check output lacks the CA file"

# bad usage: exit 2, one line (no FILE and no default configuration)
mkdir "$dir/noetc"
SCFGATE_CONFIG_DIR="$dir/noetc" "$bin" config check >/dev/null 2>"$dir/err"
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
# the one-shot SCF commands load their configuration the same way
for sub in "census" "resync --issue 1"; do
	# shellcheck disable=SC2086
	"$bin" scf $sub --config "$dir/oms/cfg.xml" >/dev/null 2>"$dir/err"
	[ $? -eq 2 ] || fail "scf $sub with an oms configuration did not exit 2: $(cat "$dir/err")"
	[ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "is a configuration for the oms half" "$dir/err" ||
		fail "scf $sub: $(cat "$dir/err")"
done

# import-csv
"$bin" config import-csv "$data/request_types.csv" >"$dir/types.xml" || fail "import-csv"
grep -q 'id="14550"' "$dir/types.xml" || fail "import-csv output"
printf 'id,title,remote\n1,A,B\nzz,C,D\n' >"$dir/bad.csv"
"$bin" config import-csv "$dir/bad.csv" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "bad csv did not exit 1"
grep -q "bad.csv:3:" "$dir/err" || fail "csv error lacks line: $(cat "$dir/err")"
echo ok
