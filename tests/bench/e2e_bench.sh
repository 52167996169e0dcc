#!/usr/bin/env bash
# tests/bench/e2e_bench.sh BUILD_DIR [ISSUES] [SCF_POLL] [OMS_POLL] [TRANSFER]
#
# End-to-end latency through both halves (separate processes, separate
# spool roots, the file-copy transport of tools/e2e/lib.sh):
#   create: a resident reports in scf-sim -> the request exists in oms-sim
#   close:  a crew closes the request in oms-sim -> the SCF issue is Closed
# ISSUES (default 12) reports are made at random moments, so they fall at
# every phase of the poll cycles; then their requests are closed the same
# way.  Each latency is printed beside the sum of the intervals a record
# waits through in the worst case (the floor of a polling design):
#   create: SCF poll + transfer interval (forwarding is continuous)
#   close:  OMS poll + transfer interval + write-back drain (1 s)
# Poll intervals default to 10 s (the smallest the schema allows; the
# production default is 300 s), the transfer loop to 1 s.
#
# E2E_BENCH_RATE (calls a minute) picks the mode:
#   600 (default)  fast mode: scf-sim's limit off and the half at 600 calls
#                  a minute, so only the poll design shows;
#   20             the real limit: scf-sim enforces 20 calls a minute and the
#                  half is configured for it, as in production.  Every SCF
#                  call then waits its turn (3 s apart), so the floors add one
#                  call's wait (60 / rate s) for the pass's first call, and a
#                  close queued behind others waits 60 / rate s for each.
set -euo pipefail
build=${1:?usage: e2e_bench.sh BUILD_DIR [ISSUES] [SCF_POLL] [OMS_POLL] [TRANSFER]}
issues=${2:-12}
scf_poll=${3:-10}
oms_poll=${4:-10}
transfer=${5:-1}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-bench.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup; [ -n "${E2E_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

rate=${E2E_BENCH_RATE:-600}
if [ "$rate" -ge 600 ]; then
	mode="fast mode: SCF limit off, 600 calls a minute"
	e2e_start_sims 0
else
	mode="real limit: scf-sim enforcing $rate calls a minute"
	e2e_start_sims 0 --rate-limit "$rate"
fi
e2e_make_halves "$scf_poll" "$oms_poll" 30 3600
sed -i "s|<ratePerMinute>600</ratePerMinute>|<ratePerMinute>$rate</ratePerMinute>|" "$SCF_CFG"
e2e_start_half scf
e2e_start_half oms
e2e_start_transport "$transfer"
sleep 2

# Phase 1: reports at random moments; a watcher notes when each request appears.
: >"$work/created"
: >"$work/seen"
(
	while :; do
		e2e_oms GET /_admin/state >"$work/oms.w" 2>/dev/null &&
			"$E2E_TOOL" requests "$work/oms.w" "$E2E_EXT_FIELD" | while read -r oid issue rest; do
				grep -q "^$issue " "$work/seen" || echo "$issue $(now) $oid" >>"$work/seen"
			done
		sleep 0.1
	done
) &
watcher=$!
E2E_PIDS="$E2E_PIDS $watcher"
for i in $(seq 1 "$issues"); do
	id=$(e2e_new_issue $((9101 + i % 4)) "Bench report $i")
	echo "$id $(now)" >>"$work/created"
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
done
e2e_wait_until $((scf_poll * 3 + 30)) '[ "$(wc -l <"$work/seen")" -ge "$issues" ]' ||
	e2e_die "not every request appeared"
kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null || true

# Phase 2: wait for the acknowledgments, then close at random moments.
acked() { [ "$(e2e_scf GET /_admin/state | grep -o '"via":"api","action":"acknowledge"' | wc -l)" -ge "$issues" ]; }
e2e_wait_for $((oms_poll * 3 + 30)) acked || true
: >"$work/closed"
: >"$work/done"
(
	while :; do
		for id in $(awk '{print $1}' "$work/closed"); do
			grep -q "^$id " "$work/done" && continue
			e2e_scf GET "/_admin/issues/$id" 2>/dev/null | grep -q '"status":"Closed"' &&
				echo "$id $(now)" >>"$work/done"
		done
		sleep 0.1
	done
) &
watcher=$!
E2E_PIDS="$E2E_PIDS $watcher"
while read -r issue t oid; do
	e2e_close_request "$oid" "Bench crew"
	echo "$issue $(now)" >>"$work/closed"
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
done <"$work/seen"
e2e_wait_until $((oms_poll * 3 + 30)) '[ "$(wc -l <"$work/done")" -ge "$issues" ]' ||
	e2e_die "not every SCF issue was closed"
kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null || true

stats() { # START_FILE END_FILE LABEL FLOOR
	join <(sort "$1") <(awk '{print $1, $2}' "$2" | sort) | awk '{printf "%.3f\n", $3 - $2}' |
		sort -n | awk -v label="$3" -v floor="$4" '
		{ v[NR] = $1; sum += $1 }
		END {
			printf "%-7s n=%d  mean %.2f s  median %.2f s  max %.2f s   floor: worst case %.1f s, mean %.1f s\n",
				label, NR, sum / NR, v[int((NR + 1) / 2)], v[NR], floor, floor / 2
		}'
}
wait_s=$(awk -v r="$rate" 'BEGIN { print (r >= 600 ? 0 : 60 / r) }')
echo "end-to-end latency, $mode (SCF poll ${scf_poll} s, OMS poll ${oms_poll} s, transfer every ${transfer} s, write-back drain 1 s, one SCF call's wait ${wait_s} s)"
stats "$work/created" "$work/seen" create "$(awk -v a="$scf_poll" -v b="$transfer" -v w="$wait_s" 'BEGIN { print a + b + w }')"
stats "$work/closed" "$work/done" close "$(awk -v a="$oms_poll" -v b="$transfer" -v w="$wait_s" 'BEGIN { print a + b + 1 + w }')"
echo "SCF calls: $(e2e_scf GET /_admin/stats | tr -d '\n' | grep -o '"requests":[0-9]*' | head -1), 429s: $(e2e_scf GET /_admin/stats | tr -d '\n' | grep -o '"rate_limited":[0-9]*' | head -1)"
