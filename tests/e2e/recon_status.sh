#!/usr/bin/env bash
# e2e_recon_status: `scfgate status` on what a census and a reconciliation
# leave behind, both halves as separate processes on the simulators:
#   - a reconciliation Cartegraph refuses (503 on the class) is in the
#     OMS half's work lines at once and, past failingAlarmSeconds, in the
#     verdict with the census, the reason and the way out; text and JSON;
#     the next reconciliation that works clears it;
#   - a census whose parts stopped arriving on the OMS host, and a
#     reconciliation result whose parts stopped arriving on the SCF host:
#     shown with the missing part numbers while young, ATTENTION once no
#     part came for stuckAlarmSeconds, with what to do; gone when removed.
set -uo pipefail
build=${1:?usage: recon_status.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-recon-status.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
# expect RC PATTERN DESCRIPTION CONFIG [--json]: run status, check the
# exit code and the output.
expect() {
	local want=$1 pat=$2 what=$3 cfg=$4 out rc
	shift 4
	out=$("$E2E_GATE" status --config "$cfg" "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$out"; then
		ok "$what"
	else
		bad "$what (exit $rc, wanted $want and /$pat/):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

e2e_start_sims 3
e2e_make_halves 10 10 3 3600
for cfg in "$SCF_CFG" "$OMS_CFG"; do
	sed -i 's|</gapAlarmSeconds>|</gapAlarmSeconds><failingAlarmSeconds>2</failingAlarmSeconds><stuckAlarmSeconds>60</stuckAlarmSeconds>|' "$cfg"
	grep -q "<failingAlarmSeconds>2<" "$cfg" || e2e_die "could not set the alarm times in $cfg"
done
e2e_oms_backoff 50 # the refused reconciliation is given up in 0.35 s, not 3.5 s
scf_once() { "$E2E_GATE" scf --once --config "$SCF_CFG" >/dev/null 2>>"$work/logs/scf.log" || bad "scf --once ($*)"; }
oms_once() { "$E2E_GATE" oms --once --retry-ms 50 --http-timeout-ms 2000 --config "$OMS_CFG" >/dev/null 2>>"$work/logs/oms.log" || bad "oms --once ($*)"; }

scf_once first
e2e_transfer_once
oms_once first
e2e_transfer_once
scf_once first
expect 0 "^ok: oms half" "healthy before the census" "$OMS_CFG"

# ---- a reconciliation Cartegraph refuses ------------------------------------
cid=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>>"$work/logs/scf.log" | jq -r .census_id)
[ -n "$cid" ] && [ "$cid" != null ] || e2e_die "no census"
e2e_transfer_once
e2e_oms POST /_admin/faults '{"error_rate": 1.0, "error_codes": [503], "path_prefix": "/api/v1/classes/"}' >/dev/null ||
	e2e_die "could not set the faults"
oms_once refused
grep -q "event=reconcile-failed census=$cid" "$work/logs/oms.log" || bad "the reconciliation did not fail"
[ -d "$OMS_ROOT/state/oms/census/$cid" ] || bad "the census parts were not kept"
{ "$E2E_GATE" status --config "$OMS_CFG" || true; } | grep -q "^  reconcile  FAILING for .*temporary error.*census $cid: .*503" &&
	ok "the reconcile line shows the census and the 503 at once" ||
	bad "reconcile line: $("$E2E_GATE" status --config "$OMS_CFG" | grep reconcile)"
e2e_age_health "$work/oms-host" 3 # past failingAlarmSeconds (2) without sleeping
expect 1 "^ATTENTION: oms half:.* reconcile of census $cid failing for [0-9]*s: HTTP 503 (the half tries again every minute; .*remove state/oms/census/$cid)" \
	"a reconciliation failing past failingAlarmSeconds needs attention, with the census, the reason and the way out" "$OMS_CFG"
{ "$E2E_GATE" status --config "$OMS_CFG" --json || true; } |
	jq -e '.attention == true and .work.reconcile.class == "temporary" and .work.reconcile.reason == "HTTP 503"' >/dev/null &&
	ok "the failing reconciliation in JSON" || bad "JSON: $("$E2E_GATE" status --config "$OMS_CFG" --json | jq -c .work.reconcile)"

e2e_oms POST /_admin/faults '{"reset": true}' >/dev/null || e2e_die "could not reset the faults"
oms_once recovered
[ -s "$OMS_ROOT/state/oms/reconcile/$cid.json" ] || bad "the reconciliation did not complete"
expect 0 "^ok: oms half" "a reconciliation that works clears it" "$OMS_CFG"
expect 0 "^  reconcile  ok (last attempt" "the reconcile line says ok" "$OMS_CFG"
e2e_transfer_once
scf_once result
[ -s "$SCF_ROOT/state/scf/reconcile/$cid.json" ] || bad "the SCF host has no result"
expect 0 "^ok: scf half" "the SCF host with its complete result is healthy" "$SCF_CFG"

# ---- parts that stopped arriving ---------------------------------------------
# A census of 3 parts of which only part 2 and the mark of the last came
# (the OMS host keeps part.<n> and last), and a reconciliation result of
# which parts 1 and 3 (the last) came to the SCF host.
lost=scf-20260101T000000Z
mkdir -p "$OMS_ROOT/state/oms/census/$lost"
printf 'P 2 0 - - 0\n' >"$OMS_ROOT/state/oms/census/$lost/part.000002"
printf '3\n' >"$OMS_ROOT/state/oms/census/$lost/last"
parts=$SCF_ROOT/state/scf/reconcile/parts
mkdir -p "$parts"
echo '{}' >"$parts/$lost.1.json"
echo '{}' >"$parts/$lost.3.last.json"
expect 0 "^census $lost: 1 part kept, missing parts 1, 3; last part came [0-9]*s ago$" \
	"a young incomplete census is shown with its missing parts, no attention yet" "$OMS_CFG"
expect 0 "^reconciliation result of census $lost: 2 parts kept, missing part 2; last part came" \
	"a young incomplete result is shown, no attention yet" "$SCF_CFG"
oms_once incomplete
[ -d "$OMS_ROOT/state/oms/census/$lost" ] || bad "the half removed an incomplete census"
touch -d '-2 minutes' "$OMS_ROOT/state/oms/census/$lost"/* "$parts"/*
expect 1 "^ATTENTION: oms half: census $lost incomplete, no part for 2m[0-9]*s: missing parts 1, 3 (check the transfer of outbound/ from the SCF host .*run scfgate scf census again on the SCF host and remove state/oms/census/$lost)$" \
	"a census without a part for stuckAlarmSeconds needs attention, naming the missing parts and what to do" "$OMS_CFG"
{ "$E2E_GATE" status --config "$OMS_CFG" --json || true; } |
	jq -e --arg id "$lost" '.incomplete_censuses == [{"census_id": $id, "parts_kept": 1, "last_part": 3, "missing": [1, 3], "waiting_seconds": .incomplete_censuses[0].waiting_seconds, "alarmed": true}]' >/dev/null &&
	ok "the incomplete census in JSON" || bad "JSON: $("$E2E_GATE" status --config "$OMS_CFG" --json | jq -c .incomplete_censuses)"
expect 1 "^ATTENTION: scf half: reconciliation result of census $lost incomplete, no part for 2m[0-9]*s: missing part 2 (check the transfer of inbound/ from the OMS host .*remove state/scf/reconcile/parts/$lost\.\*)$" \
	"a result without a part for stuckAlarmSeconds needs attention on the SCF host" "$SCF_CFG"
# The last part unknown: every number after the highest kept is missing.
rm -f "$parts/$lost.3.last.json"
touch -d '-2 minutes' "$parts"/*
expect 1 "missing the last part (after part 1)" "an unknown last part is named as such" "$SCF_CFG"
rm -rf "$OMS_ROOT/state/oms/census/$lost" "$parts/$lost".*
expect 0 "^ok: oms half" "removed, the OMS half is healthy" "$OMS_CFG"
expect 0 "^ok: scf half" "removed, the SCF half is healthy" "$SCF_CFG"

echo "recon_status tests: $fails failed (files in $work)"
[ "$fails" -eq 0 ] && rm -rf "$work"
[ "$fails" -eq 0 ]
