#!/usr/bin/env bash
# scf_resend: the SCF half's inbound `resend` and `reconcile` records,
# signed with the OMS half's key as that half would write them, against a
# real scf-sim process:
#   - the census's beliefs once the half has sent the issues; the daemon's
#     census schedule (none within the interval, one when it has passed);
#   - resend: one issue record for each named issue still Open or
#     Acknowledged and mapped, key issue/<id>/resend/<census id>, its photo
#     with it; an issue closed since, or gone (404), is logged and skipped;
#     the same record again, and again after the state was lost (crash
#     between the commit and the state save), commits nothing more;
#   - reconcile: parts arriving out of order are kept until the census is
#     complete, then one result file (and last.json, mode 0640) holds every
#     finding in part order, the counts, and the window and issue count of
#     the census this half made; the parts are removed; a repeat changes
#     nothing.
set -uo pipefail
build=${1:?usage: resend.sh BUILD_DIR}
. "$(dirname "$0")/../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-resend.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
SPOOL_DEMO=$E2E_BUILD/tools/spool-demo/spool-demo
[ -x "$SPOOL_DEMO" ] || e2e_die "$SPOOL_DEMO is not built"

E2E_PHOTO_PERCENT=100
e2e_start_sims 0
e2e_make_halves 10 10
OMS_KEY=$E2E_WORK/oms-host/keys/oms.key
scf_once() { "$E2E_GATE" scf --once --config "$SCF_CFG" >/dev/null 2>>"$work/logs/scf.log" || bad "scf --once ($*)"; }
log_has() { grep -q -- "$1" "$work/logs/scf.log"; }
seq_next=1
# deliver NAME.body: sign it as the OMS half's next record, into inbound/new.
deliver() {
	local s
	s=$(printf '%020d' "$seq_next")
	"$SPOOL_DEMO" sign "$OMS_KEY" oms "$seq_next" "$work/$1" "$SCF_ROOT/inbound/new/$s-oms.xml" ||
		bad "sign $1"
	seq_next=$((seq_next + 1))
}
# unsigned KIND KEY PAYLOAD: a record the OMS half would write, before signing.
unsigned() {
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<record format="1"><producer>oms</producer><seq>1</seq><kind>$1</kind><created>2026-12-06T10:00:00Z</created><key>$2</key><$1>$3</$1><signature algorithm="ed25519" key-id="0000000000000000">AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==</signature></record>
EOF
}
outbound_keys() {
	local f
	for f in "$SCF_ROOT"/outbound/new/*.xml; do
		[ -e "$f" ] && sed -n 's|.*<key>\(.*\)</key>.*|\1|p' "$f"
	done | sort
}

a=$(e2e_new_issue 9101 "Pothole on Elm" true)
b=$(e2e_new_issue 9102 "Graffiti on the bridge" true)
scf_once first
out=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>>"$work/logs/scf.log") || bad "census"
cid=$(jq -r .census_id <<<"$out")
check "the census lists both issues" test "$(jq .issues <<<"$out")" = 2
census_rec=$(grep -l "<key>census/$cid/1</key>" "$SCF_ROOT"/outbound/new/*.xml)
check "the census believes both issues sent, neither acknowledged nor closed" test \
	"$("$E2E_GATE" spool show --root "$SCF_ROOT" --queue outbound "$(basename "$census_rec")" --json | jq -r '[.census.entries[] | "\(.sent)\(.acknowledged)\(.closed)"] | join(" ")')" = \
	"truefalsefalse truefalsefalse"

# The daemon's schedule: no census while the interval since the last
# complete one (the one above) has not passed; one when it has.
sed -i 's|</systemComments>|</systemComments>\n    <census intervalHours="1" windowDays="365"/>|' "$SCF_CFG"
e2e_start_half scf
sleep 3
check "no scheduled census within the interval of the last one" \
	sh -c "! grep -q event=census-start '$work/logs/scf-half.log'"
e2e_stop_half scf
last=$(awk '$1 == "k" && $2 == "census/last" {print $3}' "$SCF_ROOT"/state/scf/state.* | tail -1)
sed -i "s|^k census/last $last\$|k census/last $((last - 7200))|" "$SCF_ROOT"/state/scf/state.*
e2e_start_half scf
e2e_wait_until 60 "grep -q event=census-done '$work/logs/scf-half.log'" ||
	bad "the daemon runs the due census"
e2e_stop_half scf
check "the daemon's census lists the same issues" \
	grep -q "event=census-done census=scf-[0-9TZ]* issues=2 parts=1 " "$work/logs/scf-half.log"
cid=$(sed -n 's/.*event=census-done census=\([^ ]*\) .*/\1/p' "$work/logs/scf-half.log" | tail -1)
sed -i 's|^    <census intervalHours="1" windowDays="365"/>$||' "$SCF_CFG"
before=$(outbound_keys)

# b is closed by hand in SeeClickFix before the resend arrives.
e2e_scf POST "/_admin/issues/$b/status" '{"status": "closed", "comment": "Done by hand"}' >/dev/null
unsigned resend "resend/$cid/1" "<census_id>$cid</census_id><part>1</part><issue_id>$a</issue_id><issue_id>$b</issue_id><issue_id>99999999</issue_id>" >"$work/resend.body"
deliver resend.body
scf_once resend
added=$(comm -13 <(echo "$before") <(outbound_keys))
check "resend: the Open issue's record under its resend key, with its photo" \
	test "$added" = "$(printf 'attachment/%s/issue\nissue/%s/resend/%s' "$a" "$a" "$cid")"
check "resend: logged with the census, the counts and the record" \
	log_has "event=resend census=$cid part=1 record=00000000000000000001-oms.xml issues=3 sent=1 already=0 skipped=2 failed=0"
check "resend: the issue closed by hand is skipped with the reason" \
	log_has "event=resend-skip census=$cid issue=$b status=\"Closed\" why=\"no longer Open or Acknowledged\""
check "resend: the issue SeeClickFix does not have is skipped" \
	log_has "event=resend-skip census=$cid issue=99999999 why=\"SeeClickFix has no such issue (404)\""
check "resend: the record is done" test -e "$SCF_ROOT/inbound/done/00000000000000000001-oms.xml"
check "resend: the issue record verifies and carries the issue" \
	sh -c "'$E2E_GATE' spool show --root '$SCF_ROOT' --queue outbound \$(basename \$(grep -l 'issue/$a/resend' '$SCF_ROOT'/outbound/new/*.xml)) --pubkey '$E2E_WORK/scf-host/keys/scf.pub' --json | jq -e '.issue.issue_id == $a and .issue.status == \"Open\"' >/dev/null"

# The same record again: nothing.
n=$(e2e_records "$SCF_ROOT" outbound new)
deliver resend.body
scf_once repeat
check "resend: a repeat commits nothing" test "$(e2e_records "$SCF_ROOT" outbound new)" = "$n"
check "resend: a repeat is logged as already done" \
	log_has "event=resend census=$cid part=1 record=00000000000000000002-oms.xml issues=3 sent=0 already=3 skipped=0 failed=0"

# A crash between the commit and the state save: the state as it was
# before the resend; the records in the spool are read back at open.
cp -a "$SCF_ROOT/state/scf" "$work/state-before"
unsigned resend "resend/$cid-b/1" "<census_id>$cid-b</census_id><part>1</part><issue_id>$a</issue_id>" >"$work/resend2.body"
deliver resend2.body
scf_once second-census
n=$(e2e_records "$SCF_ROOT" outbound new)
rm -rf "$SCF_ROOT/state/scf" && cp -a "$work/state-before" "$SCF_ROOT/state/scf"
deliver resend2.body
scf_once after-crash
check "resend: after a lost state the same record commits nothing more" \
	test "$(e2e_records "$SCF_ROOT" outbound new)" = "$n"
check "resend: one record per issue and census in all" \
	test "$(outbound_keys | grep -c "^issue/$a/resend/")" = 2

# ---- reconcile -----------------------------------------------------------
counts='<in_sync>0</in_sync><missing>1</missing><missed_close>1</missed_close><orphan>1</orphan><drift>0</drift><duplicate>0</duplicate>'
unsigned reconcile "reconcile/$cid/2" "<census_id>$cid</census_id><part>2</part><last>true</last>$counts<findings><finding><class>orphan</class><issue_id>4400001</issue_id><oid>100001</oid><request_id>REQ-1</request_id><oms_status>Open</oms_status><detail>not in the census</detail></finding></findings>" >"$work/rec2.body"
unsigned reconcile "reconcile/$cid/1" "<census_id>$cid</census_id><part>1</part><last>false</last>$counts<findings><finding><class>missing</class><issue_id>$a</issue_id><scf_status>Open</scf_status><detail>no request with this SeeClickFix id</detail></finding><finding><class>missed-close</class><issue_id>$b</issue_id><scf_status>Open</scf_status><oid>7</oid><request_id>REQ-7</request_id><oms_status>Closed</oms_status><detail>request Closed, issue Open</detail></finding></findings>" >"$work/rec1.body"
rdir=$SCF_ROOT/state/scf/reconcile
deliver rec2.body
scf_once reconcile-part-2
check "reconcile: the last part alone writes no result" test ! -e "$rdir/$cid.json"
deliver rec1.body
scf_once reconcile-part-1
check "reconcile: the result file once every part is there" test -s "$rdir/$cid.json"
check "reconcile: last.json is the same" cmp -s "$rdir/$cid.json" "$rdir/last.json"
check "reconcile: mode 0640" test "$(stat -c %a "$rdir/$cid.json")" = 640
check "reconcile: the parts are removed" test -z "$(ls "$rdir/parts")"
check "reconcile: the counts" test "$(jq -c .classes "$rdir/last.json")" = \
	'{"in-sync":0,"missing":1,"missed-close":1,"orphan":1,"drift":0,"duplicate":0}'
check "reconcile: every finding in part order" test "$(jq -r '[.findings[] | "\(.class):\(.issue_id):\(.oid)"] | join(" ")' "$rdir/last.json")" = \
	"missing:$a:null missed-close:$b:7 orphan:4400001:100001"
check "reconcile: the census's window and issue count, the SCF base URL" test \
	"$(jq -r '"\(.census_id) \(.window.from != null) \(.window.to != null) \(.issues) \(.scf_base_url) \(.repairs | length)"' "$rdir/last.json")" = \
	"$cid true true 2 $SCF_URL 0"
check "reconcile: logged" log_has "event=reconcile-result census=$cid parts=2 in_sync=0 missing=1 missed_close=1 orphan=1"
cp "$rdir/last.json" "$work/last.json"
deliver rec1.body
scf_once reconcile-repeat
check "reconcile: a repeat changes nothing" cmp -s "$rdir/last.json" "$work/last.json"
check "no inbound record failed" test "$(e2e_records "$SCF_ROOT" inbound failed)" = 0
[ "$fails" = 0 ] || { tail -30 "$work/logs/scf.log"; exit 1; }
