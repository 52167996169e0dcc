#!/usr/bin/env bash
# e2e_soak: both halves as daemons with the file-copy transport while
# residents report and comment, crews close requests, the simulators
# inject API faults (errors, drops, hangs, malformed and truncated JSON,
# sometimes after the change was applied), and either half is SIGKILLed at
# random points and restarted.  Then faults stop, the system settles and
# the exact oracle runs over both simulators' states; failed/ and hold/
# must be empty (no fault injected here is permanent).  Comments take the
# comment route child here (one Cartegraph child record each, found again
# by its marker after a kill), the other tests the default route field.
#
# SECONDS (default 45, about 50 rounds and 15 kills) sets the length of the
# chaos: ctest's e2e_soak gives 20, the on-demand e2e_soak_long (label
# soak) 600.  SCFGATE_SOAK_SECONDS, when set, overrides both;
# SCFGATE_SOAK_SEED repeats a run's random choices.
set -uo pipefail
build=${1:?usage: soak.sh BUILD_DIR [SECONDS]}
E2E_COMMENTS=${E2E_COMMENTS:-child}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-soak.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
seconds=${SCFGATE_SOAK_SECONDS:-${2:-45}}
seed=${SCFGATE_SOAK_SEED:-$$}
RANDOM=$seed
echo "soak: $seconds s, seed $seed (SCFGATE_SOAK_SEED=$seed repeats the choices)"

faults=(
	'{"reset": true}'
	'{"reset": true, "error_rate": 0.10, "drop_rate": 0.03}'
	'{"reset": true, "error_rate": 0.08, "drop_rate": 0.04, "after_apply": true}'
	'{"reset": true, "malformed_rate": 0.05, "truncate_rate": 0.05}'
	'{"reset": true, "timeout_rate": 0.03, "hang_ms": 1500, "error_rate": 0.05}'
	'{"reset": true, "error_rate": 0.05, "malformed_rate": 0.03, "after_apply": true, "latency_ms": 20, "jitter_ms": 30}'
)
set_faults() {
	local s=${faults[$((RANDOM % ${#faults[@]}))]} o=${faults[$((RANDOM % ${#faults[@]}))]}
	e2e_scf POST /_admin/faults "$s" >/dev/null && e2e_oms POST /_admin/faults "$o" >/dev/null
	echo "faults: scf $s / oms $o" >>"$work/logs/soak.log"
}

kills=0 creates=0 comments=0 closes=0 closed_set=""
running() { # scf|oms: is the daemon alive?
	local pid
	if [ "$1" = scf ]; then pid=${SCF_HALF_PID:-}; else pid=${OMS_HALF_PID:-}; fi
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
revive() {
	local h
	for h in scf oms; do
		if ! running $h; then
			# A half that stopped on its own (ERR_FATAL) is a finding.
			[ "$1" = check ] && [ -n "$( [ $h = scf ] && echo "${SCF_HALF_PID:-}" || echo "${OMS_HALF_PID:-}")" ] &&
				echo "half $h exited by itself" >>"$work/logs/soak.log"
			e2e_start_half $h
		fi
	done
}

e2e_start_sims 30
e2e_make_halves 10 10 20 3600
e2e_start_half scf
e2e_start_half oms
e2e_start_transport 0.3
e2e_dump

end=$(($(date +%s) + seconds))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
	n=$((n + 1))
	[ $((n % 6)) -eq 0 ] && e2e_dump
	case $((RANDOM % 10)) in
	0 | 1)
		id=$(e2e_new_issue $((9101 + RANDOM % 5)) "Soak report $n" $([ $((RANDOM % 2)) = 0 ] && echo true || echo false))
		[ -n "$id" ] && creates=$((creates + 1))
		;;
	2 | 3)
		issue=$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $2}' | shuf -n 1 --random-source=<(yes $RANDOM))
		[ -n "$issue" ] && e2e_comment "$issue" "Soak comment $n" >/dev/null && comments=$((comments + 1))
		;;
	4)
		oid=$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $1}' | shuf -n 1 --random-source=<(yes $RANDOM))
		case " $closed_set " in *" $oid "*) oid="" ;; esac # the dump may be stale
		[ -n "$oid" ] && e2e_close_request "$oid" "Soak crew $n" && closes=$((closes + 1)) &&
			closed_set="$closed_set $oid"
		;;
	5 | 6 | 7)
		h=$([ $((RANDOM % 2)) = 0 ] && echo scf || echo oms)
		if running $h; then
			e2e_kill_half $h
			kills=$((kills + 1))
			echo "kill -9 $h at $(date +%T.%N)" >>"$work/logs/soak.log"
			sleep 0.$((RANDOM % 10))
		fi
		;;
	8) set_faults ;;
	9) ;;
	esac
	revive check
	sleep 0.$((RANDOM % 10))
done
echo "chaos done: $kills kills, $creates reports, $comments comments, $closes closes"
[ "$kills" -gt 0 ] || bad "no half was killed"

e2e_scf DELETE /_admin/faults >/dev/null
e2e_oms DELETE /_admin/faults >/dev/null
revive settle
quiet() {
	e2e_dump && e2e_oracle --min-closed "$closes" >"$work/oracle.last" &&
		[ "$(e2e_records "$SCF_ROOT" outbound new)$(e2e_records "$OMS_ROOT" outbound new)$(e2e_records "$OMS_ROOT" inbound new)$(e2e_records "$SCF_ROOT" inbound new)" = 0000 ]
}
if e2e_wait_for 120 quiet; then ok "settled after the chaos"; else bad "did not settle in 120 s"; fi
e2e_stop_half scf
e2e_stop_half oms
e2e_stop_transport
e2e_dump
if e2e_oracle --min-closed "$closes" >"$work/oracle.last"; then
	ok "exact oracle: $(cat "$work/oracle.last")"
else
	bad "oracle"
	cat "$work/oracle.last"
fi
reasons=$(for r in "$SCF_ROOT" "$OMS_ROOT"; do for q in outbound inbound; do e2e_failed_reasons "$r" $q; done; done)
if [ -z "$reasons" ]; then ok "failed/ is empty on both hosts"; else
	bad "failed/ holds records:"
	echo "$reasons" | sed 's/^/    /'
fi
held=$(e2e_records "$OMS_ROOT" outbound hold)$(e2e_records "$SCF_ROOT" inbound hold)
[ "$held" = 00 ] && ok "hold/ is empty" || bad "hold/ holds records ($held)"
for c in "$SCF_CFG" "$OMS_CFG"; do
	"$E2E_GATE" status --config "$c" >"$work/status.out" && ok "status healthy: $(tail -1 "$work/status.out")" ||
		{ bad "status: $(tail -1 "$work/status.out")"; }
done
grep -q "exited by itself" "$work/logs/soak.log" && bad "a half stopped by itself: $(grep -h ALERT "$work"/logs/*-half.log | head -3)"

echo "soak: $fails failed (files in $work)"
[ "$fails" -eq 0 ] && rm -rf "$work"
[ "$fails" -eq 0 ]
