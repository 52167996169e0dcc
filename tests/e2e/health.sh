#!/usr/bin/env bash
# e2e_health: `scfgate status` computes its verdict from what each half
# met on its last pass, with real processes on the simulators: an API
# outage (503) past failingAlarmSeconds (one pass, then the daemon), a full disk (the fault shim makes
# every write into the outbound queue fail with ENOSPC), a 401 fixed and
# restarted (cleared by one good pass with nothing to commit), a stuck
# record with what blocks it, junk in new/.  Each checks the verdict line
# and the exit code, which always agree.  Time passes for status by moving
# the times in a half's last health record back (e2e_age_health) instead of
# sleeping, except while a daemon runs, which rewrites the record.
set -uo pipefail
build=${1:?usage: health.sh BUILD_DIR}
shim=${2:?usage: health.sh BUILD_DIR FAULT_SHIM}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-health.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
# expect RC PATTERN DESCRIPTION CONFIG: run status, check exit and the last
# (verdict) line; the verdict and the exit code must agree.
expect() {
	local want=$1 pat=$2 what=$3 cfg=$4 out rc last
	out=$("$E2E_GATE" status --config "$cfg" 2>&1)
	rc=$?
	last=$(printf '%s\n' "$out" | tail -1)
	case "$rc:$last" in
	0:ok:* | 1:ATTENTION:*) ;;
	*) bad "$what: verdict '$last' disagrees with exit $rc" ;;
	esac
	if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$last"; then
		ok "$what"
	else
		bad "$what (exit $rc, wanted $want and /$pat/):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

e2e_start_sims 6
e2e_make_halves 10 10 3 3600
for cfg in "$SCF_CFG" "$OMS_CFG"; do
	sed -i 's|</gapAlarmSeconds>|</gapAlarmSeconds><failingAlarmSeconds>4</failingAlarmSeconds><stuckAlarmSeconds>60</stuckAlarmSeconds>|' "$cfg"
	grep -q "<failingAlarmSeconds>4<" "$cfg" || e2e_die "could not set the alarm times in $cfg"
done
e2e_oms_backoff 50 # the outages below are given up in 0.35 s, not 3.5 s
slog=$work/logs/scf.log
olog=$work/logs/oms.log

# A quiet, healthy start: passes that find nothing are successes.
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once"
expect 0 "^ok: scf half" "a healthy pass" "$SCF_CFG"
"$E2E_GATE" status --config "$SCF_CFG" | grep -q "^  fetch      ok (last attempt" &&
	ok "the fetch line says ok" || bad "no fetch line"
e2e_transfer_once

# --- API outage: Cartegraph answers 503 to everything ---------------------
e2e_oms POST /_admin/faults '{"maintenance": true}' >/dev/null
"$E2E_GATE" oms --once --retry-ms 50 --http-timeout-ms 2000 --config "$OMS_CFG" 2>>"$olog"
{ "$E2E_GATE" status --config "$OMS_CFG" || true; } | grep -q "^  forward    FAILING for .*temporary error.*503" &&
	ok "the forward line shows the 503" || bad "forward line: $("$E2E_GATE" status --config "$OMS_CFG" | grep forward)"
e2e_age_health "$work/oms-host" 4
expect 1 "^ATTENTION: oms half: forward failing for [0-9]*s: HTTP 503" "an outage past failingAlarmSeconds needs attention" "$OMS_CFG"
{ "$E2E_GATE" status --config "$OMS_CFG" --json || true; } | jq -e '.attention == true and .work.forward.class == "temporary" and .work.forward.reason == "HTTP 503"' >/dev/null &&
	ok "the outage in JSON" || bad "JSON: $("$E2E_GATE" status --config "$OMS_CFG" --json | jq -c .work)"
e2e_oms DELETE /_admin/faults >/dev/null
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$olog" || bad "oms --once after the outage"
expect 0 "^ok: oms half" "one good pass clears the outage" "$OMS_CFG"
e2e_transfer_once
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once write-back"

# --- the same outage under the daemon: passes between retries of a waiting
# record make no attempt, so they neither clear nor restart the failure
e2e_new_issue 9103 "a dark street light" >/dev/null
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once (daemon outage)"
e2e_start_half oms --retry-ms 6000 --http-timeout-ms 2000
e2e_wait_until 20 'grep -q "event=field-map-checked" "$work/logs/oms-half.log"' || bad "the daemon did not start"
e2e_oms POST /_admin/faults '{"maintenance": true}' >/dev/null
e2e_transfer_once
# Until the failure is older than failingAlarmSeconds (4 s), not a fixed 8 s.
e2e_wait_until 20 '{ "$E2E_GATE" status --config "$OMS_CFG" 2>&1 || true; } | tail -1 | grep -q "^ATTENTION: oms half: forward failing for"'
expect 1 "^ATTENTION: oms half: forward failing for [0-9]*s: HTTP 503" "the daemon's outage past failingAlarmSeconds needs attention" "$OMS_CFG"
e2e_oms DELETE /_admin/faults >/dev/null
# The record's next attempt now, not at the end of its back-off (3 to 12 s
# at --retry-ms 6000): an attempt that works is what clears the failure.
"$E2E_GATE" spool retry --root "$OMS_ROOT" --queue outbound --now >/dev/null || bad "spool retry --now"
e2e_wait_until 40 '"$E2E_GATE" status --config "$OMS_CFG" >/dev/null 2>&1' || bad "the daemon did not recover"
expect 0 "^ok: oms half" "the daemon's next good attempt clears it" "$OMS_CFG"
e2e_stop_half oms
e2e_transfer_once
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once write-back (daemon outage)"

# --- a full disk: every write into outbound/ fails with ENOSPC -------------
e2e_new_issue 9101 "a pothole on a full disk" >/dev/null
LD_PRELOAD=$shim ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
	SCFGATE_FAULT_OP=write SCFGATE_FAULT_NTH=1+ SCFGATE_FAULT_ERRNO=ENOSPC \
	SCFGATE_FAULT_PREFIX="$SCF_ROOT/outbound" \
	"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" && bad "scf --once on a full disk succeeded"
grep -q "No space left on device" "$slog" || bad "the log does not name the full disk"
expect 0 "^ok: scf half" "a failure younger than failingAlarmSeconds is not alarmed yet" "$SCF_CFG"
e2e_age_health "$work/scf-host" 4
expect 1 "^ATTENTION: scf half: commit failing for [0-9]*s: No space left on device" "a full disk needs attention" "$SCF_CFG"
{ "$E2E_GATE" status --config "$SCF_CFG" || true; } | grep -q "^  fetch      ok" && ok "fetch itself still works" ||
	bad "fetch not ok on a full disk: $("$E2E_GATE" status --config "$SCF_CFG" | grep fetch)"
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once after space was freed"
expect 0 "^ok: scf half" "freed space: the next pass clears it" "$SCF_CFG"

# --- a 401, fixed, restarted: one good pass with nothing to commit --------
(umask 077 && printf 'not-the-token\n' >"$work/wrong.token")
sed "s|<credentials auth=\"bearer\">[^<]*<|<credentials auth=\"bearer\">$work/wrong.token<|" "$SCF_CFG" >"$work/wrong.xml"
"$E2E_GATE" scf --once --config "$work/wrong.xml" 2>>"$slog" && bad "scf --once with a wrong token succeeded"
expect 1 "^ATTENTION: scf half: stopped on a fatal error: fetch: .*401" "a 401 stops the half, named" "$SCF_CFG"
before=$(e2e_records "$SCF_ROOT" outbound new)
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once with the right token"
[ "$(e2e_records "$SCF_ROOT" outbound new)" = "$before" ] && ok "the good pass committed nothing" ||
	bad "the good pass committed records"
expect 0 "^ok: scf half" "the fixed token clears the fatal stop" "$SCF_CFG"
"$E2E_GATE" status --config "$SCF_CFG" | grep -q "fatal stop: none recorded" &&
	ok "the recorded stop is gone from the state" || bad "the state still names the stop"

# --- junk in new/ ----------------------------------------------------------
# A fresh pass first: the SCF steps above may take longer than the staleness
# bound (failingAlarmSeconds + 2 x pollSeconds) on a loaded machine, and a
# stale half would add its own reason to the verdict line.
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$olog" || bad "oms --once before the junk"
: >"$OMS_ROOT/outbound/new/notes.txt"
expect 1 "^ATTENTION: oms half: 1 file in outbound/new is not a record (first: 'notes.txt')" "junk in new/ needs attention" "$OMS_CFG"
rm -f "$OMS_ROOT/outbound/new/notes.txt"
expect 0 "^ok: oms half" "junk removed: healthy" "$OMS_CFG"

# --- a stuck record and what blocks it -------------------------------------
# An issue with a photo: its issue record is held; the attachment waits.
e2e_transfer_once
id=$(e2e_new_issue 9102 "graffiti with a photo" true)
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$slog" || bad "scf --once (stuck)"
issue_rec="" att_rec=""
for f in "$SCF_ROOT"/outbound/new/*.xml; do
	k=$("$E2E_GATE" spool show --root "$SCF_ROOT" --queue outbound --json "$(basename "$f")" 2>/dev/null | jq -r '.envelope.kind + " " + (.envelope.key | split("/")[1])')
	case "$k" in
	"issue $id") issue_rec=$(basename "$f") ;;
	"attachment $id") att_rec=$(basename "$f") ;;
	esac
done
if [ -z "$issue_rec" ] || [ -z "$att_rec" ]; then
	bad "no issue and attachment record for issue $id (issue '$issue_rec', attachment '$att_rec')"
else
	touch -d '-2 minutes' "$SCF_ROOT/outbound/new/$issue_rec"
	expect 1 "stuck: record $issue_rec has waited 2m[0-9]*s in outbound/new for the transport" "records the transport does not take are stuck" "$SCF_CFG"
	e2e_transfer_once
	"$E2E_GATE" spool hold --root "$OMS_ROOT" --queue outbound "$issue_rec" >/dev/null || bad "spool hold"
	touch -d '-2 minutes' "$OMS_ROOT/outbound/new/$att_rec"
	expect 1 "stuck: attachment $att_rec of issue $id has waited 2m[0-9]*s in outbound/new: it waits for issue $id, whose record $issue_rec is held in hold/" "a stuck attachment names the issue record that blocks it" "$OMS_CFG"
	"$E2E_GATE" spool release --root "$OMS_ROOT" --queue outbound "$issue_rec" >/dev/null || bad "spool release"
	"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$olog" || bad "oms --once after release"
	expect 0 "^ok: oms half" "released and applied: healthy" "$OMS_CFG"
fi

# --- no pass for a long time: the half is not running ---------------------
# (failingAlarmSeconds + 2 x pollSeconds: 24 s here)
e2e_age_health "$work/oms-host" 25
expect 1 "no pass recorded for [0-9]*s: the half is not running" "a half that stopped passing needs attention" "$OMS_CFG"

echo "health tests: $fails failed (files in $work)"
[ "$fails" -eq 0 ]
