#!/usr/bin/env bash
# e2e_reconcile: drift between SeeClickFix and Cartegraph found by a census
# and a reconciliation, and repaired, both halves as separate processes on
# the simulators (`--once` runs, file-copy transport):
#   - every kind of drift, made the way it happens: a request deleted in
#     Cartegraph, an issue record lost past the retention (the OMS host
#     skips its sequence), a close record lost the same way, an issue
#     archived early, an issue deleted in SeeClickFix, a request re-typed,
#     a request moved, an issue closed by hand, an issue re-typed in
#     SeeClickFix, a request entered twice;
#   - `scfgate scf census`, then the OMS half's reconciliation: the classes
#     exactly (counts and which issue is in which), in the OMS host's result
#     file and, through the reconcile records, in the SCF host's;
#   - `scfgate reconcile --repair`: missing issues resent (one new request
#     each, never two), the missed close written back; a second --repair
#     commits nothing; --repair while `scfgate oms` runs is refused and
#     changes nothing; what a person does for the other classes is done
#     (close, delete, re-type, move back, reopen);
#   - a second census and reconciliation: everything in sync, on both hosts;
#     the oracle: the two systems agree, no duplicate anywhere.
set -uo pipefail
build=${1:?usage: reconcile.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-reconcile.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

# A request made anew for a missing issue has a new IDField, and the
# acknowledgment the resident already has names the old one: the messages
# of this test name no request id, so the oracle can hold them exact.
E2E_ACK='Thank you. Your report is now a city work request.'
E2E_ACK_9102='Thank you. The graffiti crew has it.'
e2e_start_sims 0
e2e_make_halves 10 10

scf_once() { "$E2E_GATE" scf --once --config "$SCF_CFG" >/dev/null 2>>"$work/logs/scf.log" || bad "scf --once ($*)"; }
oms_once() { "$E2E_GATE" oms --once --config "$OMS_CFG" >/dev/null 2>>"$work/logs/oms.log" || bad "oms --once ($*)"; }
exchange() {
	scf_once "$1"
	e2e_transfer_once
	oms_once "$1"
	e2e_transfer_once
	scf_once "$1"
}
# requests ISSUE [open|closed|all]: "Oid issue IDField ..." per request.
requests() {
	e2e_dump || bad "state dump"
	"$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" "${2:-all}" | awk -v i="$1" '$2 == i'
}
oid_of() { requests "$1" "${2:-all}" | awk 'NR == 1 {print $1}'; }
# classes FILE: "class:issue" per finding, sorted.
classes() { jq -r '.findings[] | "\(.class):\(.issue_id)"' "$1" | sort; }
counts() { jq -c '.classes' "$1"; }

s1=$(e2e_new_issue 9101 "In sync")
s2=$(e2e_new_issue 9102 "Closed the normal way")
m1=$(e2e_new_issue 9101 "Its request is deleted in Cartegraph")
c1=$(e2e_new_issue 9103 "Its close is lost")
o1=$(e2e_new_issue 9104 "Archived early")
o2=$(e2e_new_issue 9101 "Deleted in SeeClickFix")
d1=$(e2e_new_issue 9101 "Request re-typed")
d2=$(e2e_new_issue 9102 "Request moved")
d3=$(e2e_new_issue 9103 "Closed by hand in SeeClickFix")
d4=$(e2e_new_issue 9101 "Re-typed in SeeClickFix")
u1=$(e2e_new_issue 9104 "Entered twice")
x1=$(e2e_new_issue 9105 "Unmapped type")
for i in s1 s2 m1 c1 o1 o2 d1 d2 d3 d4 u1 x1; do
	[ -n "${!i}" ] || e2e_die "could not report issue $i"
done
exchange first
exchange second
e2e_dump
check "eleven mapped issues have a request each, acknowledged" \
	test "$(jq '[.issues[] | select(.status == "Acknowledged")] | length' "$work/state/scf.json")" = 11

# An issue record lost past the retention: the OMS host skips its number.
m2=$(e2e_new_issue 9102 "Its issue record is lost")
scf_once lost-issue
lost=$(grep -l "<issue_id>$m2</issue_id>" "$SCF_ROOT"/outbound/new/*.xml)
[ "$(echo "$lost" | wc -w)" = 1 ] || e2e_die "no single record for issue $m2"
rm -f "$lost"
"$E2E_GATE" spool skip --root "$OMS_ROOT" --queue outbound --producer scf \
	"$(basename "$lost" | sed 's/^0*\([0-9]*\)-.*/\1/')" >/dev/null 2>&1 || bad "skip the lost issue record"

# The crew closes two requests; the close of c1 is lost the same way.
e2e_close_request "$(oid_of "$s2")" "Done"
e2e_close_request "$(oid_of "$c1")" "Done"
oms_once closes
lost=$(grep -l "<issue_id>$c1</issue_id>" "$OMS_ROOT"/inbound/new/*.xml)
[ "$(echo "$lost" | wc -w)" = 1 ] || e2e_die "no single close record for issue $c1"
rm -f "$lost"
"$E2E_GATE" spool skip --root "$SCF_ROOT" --queue inbound --producer oms \
	"$(basename "$lost" | sed 's/^0*\([0-9]*\)-.*/\1/')" >/dev/null 2>&1 || bad "skip the lost close record"
e2e_transfer_once
scf_once closes
e2e_dump
check "s2 closed in SeeClickFix, c1 not" test \
	"$(jq -r --argjson a "$s2" --argjson b "$c1" '[.issues[] | select(.id == $a or .id == $b) | .status] | join(",")' "$work/state/scf.json")" = "Closed,Acknowledged"

# The drift.
e2e_oms POST "/_admin/requests/$(oid_of "$m1")/delete" '{}' >/dev/null || bad "delete m1's request"
e2e_scf POST "/_admin/issues/$o1/status" '{"status": "archived"}' >/dev/null || bad "archive o1"
e2e_scf POST "/_admin/issues/$o2/delete" '{}' >/dev/null || bad "delete o2"
e2e_oms POST "/_admin/requests/$(oid_of "$d1")/retype" '{"issue": "Graffiti", "by": "staff"}' >/dev/null || bad "retype d1"
e2e_oms POST "/_admin/requests/$(oid_of "$d2")/move" '{"north_m": 500, "east_m": 0}' >/dev/null || bad "move d2"
e2e_scf POST "/_admin/issues/$d3/status" '{"status": "closed"}' >/dev/null || bad "close d3 by hand"
e2e_scf POST "/_admin/issues/$d4/request-type" '{"request_type_id": 9102}' >/dev/null || bad "re-type d4"
e2e_oms POST "/_admin/requests/$(oid_of "$u1")/duplicate" '{"by": "crew"}' >/dev/null || bad "duplicate u1"

# ---- census and reconciliation --------------------------------------------
scf_once before-census
out=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>>"$work/logs/scf.log") || bad "census"
cid=$(jq -r .census_id <<<"$out")
echo "# census $cid: $(jq -c '{issues, parts, calls, ideal_calls}' <<<"$out")"
check "the census lists the eleven issues SeeClickFix still has (not the unmapped one)" \
	test "$(jq .issues <<<"$out")" = 11
# What the SCF half believes travels with the census.
crec=$(grep -l "<key>census/$cid/1</key>" "$SCF_ROOT"/outbound/new/*.xml)
belief() {
	"$E2E_GATE" spool show --root "$SCF_ROOT" --queue outbound "$(basename "$crec")" --json |
		jq -r --argjson i "$1" '.census.entries[] | select(.issue_id == $i) | "\(.sent) \(.acknowledged) \(.closed)"'
}
check "census: s1 believed sent and acknowledged, not closed" test "$(belief "$s1")" = "true true false"
check "census: s2 believed closed (by write-back)" test "$(belief "$s2")" = "true true true"
check "census: c1 not believed closed (its close was lost)" test "$(belief "$c1")" = "true true false"
e2e_transfer_once
oms_once reconcile
omsres=$OMS_ROOT/state/oms/reconcile/$cid.json
scfres=$SCF_ROOT/state/scf/reconcile/$cid.json
check "the OMS host has the result" test -s "$omsres"
want_counts='{"in-sync":2,"missing":2,"missed-close":1,"orphan":2,"drift":4,"duplicate":1}'
want=$(printf '%s\n' "missing:$m1" "missing:$m2" "missed-close:$c1" "orphan:$o1" "orphan:$o2" \
	"drift:$d1" "drift:$d2" "drift:$d3" "drift:$d4" "duplicate:$u1" | sort)
check "OMS host: the counts of every class" test "$(counts "$omsres")" = "$want_counts"
check "OMS host: every issue in its class" test "$(classes "$omsres" | sort -u)" = "$want"
[ "$(classes "$omsres" | sort -u)" = "$want" ] || { classes "$omsres"; jq -c '.findings[]' "$omsres"; }
e2e_transfer_once
scf_once reconcile-records
check "the SCF host has the result from the reconcile records" test -s "$scfres"
check "SCF host: the same counts" test "$(counts "$scfres")" = "$want_counts"
check "SCF host: the same findings" test "$(classes "$scfres")" = "$(classes "$omsres")"
check "SCF host: last.json is this reconciliation" cmp -s "$scfres" "$SCF_ROOT/state/scf/reconcile/last.json"
check "scfgate status on the SCF host names the counts other than in sync" \
	sh -c "'$E2E_GATE' status --config '$SCF_CFG' 2>/dev/null | grep -q 'last reconciliation: census $cid, .*: 2 in sync, 2 missing, 1 missed-close, 2 orphan, 4 drift, 1 duplicate (see scfgate reconcile)'"
check "and in its JSON" sh -c "'$E2E_GATE' status --config '$SCF_CFG' --json 2>/dev/null | jq -e '.. | objects | select(has(\"reconciliation\")) | .reconciliation.classes.drift == 4' >/dev/null"
check "scfgate reconcile on the SCF host reads it" \
	sh -c "'$E2E_GATE' reconcile --config '$SCF_CFG' 2>&1 | grep -q '$cid'"

# ---- repair -----------------------------------------------------------------
# While `scfgate oms` runs it holds the inbound queue's producer lock:
# --repair refuses at once with a message saying what to do, and changes
# nothing (no record committed, the result file as it was).
cp "$omsres" "$work/result.before"
e2e_start_half oms
lock=$OMS_ROOT/inbound/state/oms.lock
# The half holds the lock: /proc/locks has its flock on the lock file's
# inode.  Read, never tried: a probe that took the lock itself (flock -n)
# would, at the moment the half starts, make the half find it taken.
oms_holds_lock() {
	local ino
	ino=$(stat -c %i "$lock" 2>/dev/null) || return 1
	awk -v pid="$OMS_HALF_PID" -v ino="$ino" \
		'$2 == "FLOCK" && $5 == pid && $6 ~ (":" ino "$") { found = 1 } END { exit !found }' /proc/locks
}
if e2e_wait_for 30 oms_holds_lock; then
	ls "$OMS_ROOT/inbound/new" | sort >"$work/inbound.before"
	out=$(timeout 30 "$E2E_GATE" reconcile --repair --config "$OMS_CFG" 2>&1)
	rc=$?
	ls "$OMS_ROOT/inbound/new" | sort >"$work/inbound.after"
	check "--repair while the OMS half runs fails (exit $rc)" test "$rc" = 1
	if printf '%s' "$out" | grep -q 'the inbound queue is in use (stop scfgate oms, repair, start it again): .*oms\.lock: producer oms is already running'; then
		ok "and says the queue is in use and what to do"
	else
		bad "and says the queue is in use and what to do: $out"
	fi
	check "and prints nothing else" test "$(printf '%s\n' "$out" | wc -l)" = 1
	resent=0
	for f in $(comm -13 "$work/inbound.before" "$work/inbound.after"); do
		k=$("$E2E_GATE" spool show --root "$OMS_ROOT" --queue inbound "$f" --json 2>/dev/null | jq -r '.kind // empty')
		[ "$k" = resend ] && resent=$((resent + 1))
	done
	check "the refused --repair committed no resend record" test "$resent" = 0
	check "the refused --repair left the result file as it was" cmp -s "$omsres" "$work/result.before"
else
	bad "the OMS half did not take the inbound producer lock"
fi
e2e_stop_half oms
"$E2E_GATE" reconcile --repair --config "$OMS_CFG" >"$work/repair.out" 2>>"$work/logs/oms.log" || bad "reconcile --repair"
n=$(e2e_records "$OMS_ROOT" inbound new)
"$E2E_GATE" reconcile --repair --config "$OMS_CFG" >"$work/repair2.out" 2>>"$work/logs/oms.log" || bad "second --repair"
check "a second --repair commits nothing" test "$(e2e_records "$OMS_ROOT" inbound new)" = "$n"
exchange repair-1
exchange repair-2
e2e_dump
for i in m1 m2; do
	check "missing $i: exactly one request now" test "$(requests "${!i}" | wc -l)" = 1
done
check "missed close c1: the issue is closed in SeeClickFix" test \
	"$(jq -r --argjson a "$c1" '.issues[] | select(.id == $a) | .status' "$work/state/scf.json")" = Closed

# What a person does for the rest (the actions `scfgate reconcile` lists).
e2e_close_request "$(oid_of "$o1" open)" "Issue archived in SeeClickFix"
e2e_oms POST "/_admin/requests/$(oid_of "$o2")/delete" '{}' >/dev/null || bad "delete o2's request"
e2e_oms POST "/_admin/requests/$(oid_of "$d1")/retype" '{"issue": "Pothole", "by": "staff"}' >/dev/null || bad "retype d1 back"
e2e_oms POST "/_admin/requests/$(oid_of "$d2")/move" '{"north_m": -500, "east_m": 0}' >/dev/null || bad "move d2 back"
e2e_scf POST "/_admin/issues/$d3/status" '{"status": "acknowledged"}' >/dev/null || bad "reopen d3"
e2e_scf POST "/_admin/issues/$d4/request-type" '{"request_type_id": 9101}' >/dev/null || bad "re-type d4 back"
dup=$(requests "$u1" | awk '{print $1}' | sort -n | tail -1)
e2e_oms POST "/_admin/requests/$dup/delete" '{}' >/dev/null || bad "delete u1's duplicate"
exchange after-people
exchange after-people-2

# ---- everything in sync -------------------------------------------------------
out=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>>"$work/logs/scf.log") || bad "second census"
cid2=$(jq -r .census_id <<<"$out")
[ "$cid2" != "$cid" ] || e2e_die "the second census has the first one's id"
e2e_transfer_once
oms_once reconcile-2
e2e_transfer_once
scf_once reconcile-2
all_sync='{"in-sync":11,"missing":0,"missed-close":0,"orphan":0,"drift":0,"duplicate":0}'
check "second reconciliation: everything in sync on the OMS host" \
	test "$(counts "$OMS_ROOT/state/oms/reconcile/$cid2.json")" = "$all_sync"
check "second reconciliation: everything in sync on the SCF host" \
	test "$(counts "$SCF_ROOT/state/scf/reconcile/$cid2.json")" = "$all_sync"
[ "$(counts "$OMS_ROOT/state/oms/reconcile/$cid2.json")" = "$all_sync" ] ||
	jq -c '.findings[]' "$OMS_ROOT/state/oms/reconcile/$cid2.json"
e2e_dump
if e2e_oracle >"$work/oracle.out"; then
	ok "oracle: $(tail -1 "$work/oracle.out")"
else
	bad "oracle"
	cat "$work/oracle.out"
fi
check "no record failed on either host" test \
	"$(($(e2e_records "$SCF_ROOT" inbound failed) + $(e2e_records "$OMS_ROOT" outbound failed)))" = 0
[ "$fails" = 0 ] || {
	e2e_failed_reasons "$SCF_ROOT" inbound
	e2e_failed_reasons "$OMS_ROOT" outbound
	tail -20 "$work/logs/oms.log"
	exit 1
}
rm -rf "$work"
