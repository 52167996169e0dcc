#!/bin/sh
# default_paths_test.sh SCFGATE SOURCE_DIR: --config is optional where the
# default configuration exists (SCFGATE_CONFIG_DIR stands for
# /etc/scfgate): each command family takes its half's file, a command
# usable on either host takes the one that exists and refuses when both
# do, and `bundle --config` carries records between two hosts with the
# roots, queues and keys of their configurations.
set -u
bin=$1
src=$2
keys=$src/tests/data/keys
t=$(mktemp -d /tmp/scfgate-paths-XXXXXX)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# host HALF: $t/HALF/etc (the configuration directory) and $t/HALF/spool
host() {
	h=$1
	other=oms; [ "$h" = oms ] && other=scf
	mkdir -p "$t/$h/etc" "$t/$h/spool"
	cp "$keys/test-$h.key" "$t/$h/etc/$h.key"
	cp "$keys/test-$other.pub" "$t/$h/etc/$other.pub"
	echo token >"$t/$h/etc/scf.token"
	echo user:pw >"$t/$h/etc/cartegraph.cred"
	chmod 600 "$t/$h/etc/$h.key" "$t/$h/etc/scf.token" "$t/$h/etc/cartegraph.cred"
	"$bin" config example --half "$h" |
		sed -e "s#/var/spool/scfgate#$t/$h/spool#" -e "s#/etc/scfgate#$t/$h/etc#g" \
			>"$t/$h/$h.xml" || fail "config example --half $h"
}
host scf
host oms
S=$t/scf/etc
O=$t/oms/etc

# expect RC MESSAGE CMD...: exit status RC and MESSAGE (a fixed string) on stderr
expect() {
	want=$1 msg=$2
	shift 2
	"$@" >"$t/out" 2>"$t/err"
	rc=$?
	[ "$rc" -eq "$want" ] || fail "$*: exit $rc, not $want: $(cat "$t/err")"
	grep -qF -- "$msg" "$t/err" || fail "$*: stderr lacks '$msg': $(cat "$t/err")"
}

# Nothing there: every command names the file it looked for.
export SCFGATE_CONFIG_DIR="$S"
expect 2 "scfgate scf: no --config and $S/scf.xml does not exist" "$bin" scf --once
expect 2 "scfgate scf resync: no --config and $S/scf.xml does not exist" \
	"$bin" scf resync --issue 1
expect 2 "scfgate oms: no --config and $S/oms.xml does not exist" "$bin" oms --once
for cmd in "status" "spool ls" "spool init" "find 4512873" "config check" \
	"preview $src/tests/data/records/00000000000000000042-scf.xml" "bundle export --out $t/x.tar" \
	"transfer --once"; do
	# shellcheck disable=SC2086
	expect 2 "no --config, and neither $S/scf.xml nor $S/oms.xml exists" "$bin" $cmd
done

# The SCF host: its default serves every command meant for it or for
# either host; the OMS half's default is still missing.
cp "$t/scf/scf.xml" "$S/scf.xml"
"$bin" config check >"$t/out" 2>"$t/err" || fail "config check: $(cat "$t/err")"
grep -qx "configuration: $S/scf.xml" "$t/out" || fail "config check read: $(head -1 "$t/out")"
"$bin" spool init >/dev/null 2>"$t/err" || fail "spool init: $(cat "$t/err")"
mkdir -p "$t/scf/spool/outbound/new"
cp "$src"/tests/data/records/0000000000000000004[234]-scf.xml "$t/scf/spool/outbound/new/"
"$bin" spool ls --queue outbound >"$t/out" 2>"$t/err" || fail "spool ls: $(cat "$t/err")"
grep -q "00000000000000000043-scf.xml" "$t/out" || fail "spool ls: $(cat "$t/out")"
"$bin" status >"$t/out" 2>"$t/err"
[ $? -le 1 ] || fail "status: $(cat "$t/err")"
grep -q "outbound" "$t/out" || fail "status output: $(cat "$t/out")"
"$bin" find 4512873 >"$t/out" 2>"$t/err" || fail "find: $(cat "$t/err")"
grep -q "00000000000000000042-scf.xml" "$t/out" || fail "find output: $(cat "$t/out")"
# (the example configuration does not map this record's request type)
expect 1 "issue/4512873 with $S/scf.xml; nothing was sent" \
	"$bin" preview "$src/tests/data/records/00000000000000000042-scf.xml"
expect 2 "scfgate oms: no --config and $S/oms.xml does not exist" "$bin" oms --once
expect 1 "$S/scf.xml: no <transfer> section" "$bin" transfer --once
# The halves read their default: a key others may read stops each one,
# naming the file of the default configuration.
chmod 644 "$S/scf.key"
expect 1 "$S/scf.key: readable by group or others" "$bin" scf --once
expect 1 "$S/scf.key: readable by group or others" "$bin" scf resync --issue 1
chmod 600 "$S/scf.key"

# Both defaults in one directory: the halves take their own, every
# command usable on either host refuses and names both.
cp "$t/oms/oms.xml" "$S/oms.xml"
sed -i "s#$O/#$S/#g" "$S/oms.xml"
cp "$O/oms.key" "$O/scf.pub" "$S/"
chmod 644 "$S/oms.key"
expect 1 "$S/oms.key: readable by group or others" "$bin" oms --once
chmod 600 "$S/oms.key"
both="no --config, and both $S/scf.xml and $S/oms.xml exist: give --config to say which half"
for cmd in "status" "spool ls" "spool init" "find 4512873" "config check" \
	"preview $src/tests/data/records/00000000000000000042-scf.xml" \
	"bundle export --out $t/x.tar" "transfer --once"; do
	# shellcheck disable=SC2086
	expect 2 "$both" "$bin" $cmd
done
# --config (and, for spool and find, --root) still decides.
"$bin" status --config "$S/scf.xml" >/dev/null 2>"$t/err"
[ $? -le 1 ] || fail "status --config with both defaults: $(cat "$t/err")"
"$bin" spool ls --root "$t/scf/spool" >/dev/null 2>"$t/err" || fail "spool ls --root: $(cat "$t/err")"
"$bin" find 4512873 --root "$t/scf/spool" >/dev/null 2>"$t/err" || fail "find --root: $(cat "$t/err")"
rm "$S/oms.xml"

# bundle --config: the SCF host exports what it wrote (outbound, signed
# with its key and producer id), the OMS host verifies it with its
# peer's key and imports it into the queue it receives, acknowledges,
# and the SCF host prunes what was acknowledged.  No --root, --queue or
# key anywhere.
"$bin" bundle export --out "$t/b.tar" >"$t/out" 2>"$t/err" || fail "bundle export: $(cat "$t/err")"
grep -q "3 record(s)" "$t/out" || fail "bundle export: $(cat "$t/out")"
"$bin" bundle list "$t/b.tar" >"$t/out" 2>"$t/err" || fail "list: $(cat "$t/err")"
grep -q "^signer: scf (key " "$t/out" || fail "bundle signer: $(cat "$t/out")"
grep -qx "queue: outbound/new" "$t/out" || fail "bundle queue: $(cat "$t/out")"
export SCFGATE_CONFIG_DIR="$O"
cp "$t/oms/oms.xml" "$O/oms.xml"
"$bin" spool init >/dev/null 2>"$t/err" || fail "spool init (oms): $(cat "$t/err")"
"$bin" bundle verify "$t/b.tar" >"$t/out" 2>"$t/err" || fail "bundle verify: $(cat "$t/err")"
grep -q "OK: signature and 3 digest" "$t/out" || fail "bundle verify: $(cat "$t/out")"
"$bin" bundle import "$t/b.tar" >"$t/out" 2>"$t/err" || fail "bundle import: $(cat "$t/err")"
grep -q "3 record(s) imported" "$t/out" || fail "bundle import: $(cat "$t/out")"
cmp "$src/tests/data/records/00000000000000000044-scf.xml" \
	"$t/oms/spool/outbound/new/00000000000000000044-scf.xml" || fail "imported record differs"
"$bin" bundle ack --out "$t/ack.tar" >/dev/null 2>"$t/err" || fail "bundle ack: $(cat "$t/err")"
"$bin" bundle prune "$t/ack.tar" --config "$S/scf.xml" >"$t/out" 2>"$t/err" ||
	fail "bundle prune: $(cat "$t/err")"
grep -q "3 acknowledged record(s) removed from outbound/new" "$t/out" ||
	fail "bundle prune: $(cat "$t/out")"
# A bundle signed by the wrong half does not verify with the configured key.
"$bin" bundle export --config "$O/oms.xml" --queue outbound --out "$t/wrong.tar" >/dev/null 2>&1 ||
	fail "export with the oms key"
expect 1 "manifest.sig" "$bin" bundle verify "$t/wrong.tar"
echo ok
