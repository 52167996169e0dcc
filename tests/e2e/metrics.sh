#!/usr/bin/env bash
# e2e_metrics: both halves write their Prometheus textfile after a real
# run on the simulators; promtool (Debian's prometheus package) parses
# and lints it, its counters equal the simulators' own counts, and the
# example alerting rules pass `promtool check rules` and their unit tests.
set -uo pipefail
build=${1:?usage: metrics.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tools/e2e/lib.sh"
command -v promtool >/dev/null || {
	echo "not ok - promtool is missing (tools/run setup installs prometheus)"
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-metrics.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
# value FILE SELECTOR: the sum of the samples whose line starts with SELECTOR
value() { grep -F -- "$2" "$1" | grep -v '^#' | awk '{s += $NF} END {printf "%d", s}'; }
same() {
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: metrics say $2, the simulator $3"; fi
}

e2e_start_sims 8
e2e_make_halves 10 10 30 3600
sed -i "s|</scfgate>|<metrics><textfile>$work/scf.prom</textfile></metrics></scfgate>|" "$SCF_CFG"
sed -i "s|</scfgate>|<metrics><textfile>$work/oms.prom</textfile></metrics></scfgate>|" "$OMS_CFG"

"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once"
e2e_transfer_once
# what the simulators hold before the runs the counters describe
req0=$(e2e_oms GET /_admin/state | jq '.records.cgRequestsClass | length')
att0=$(e2e_oms GET /_admin/state | jq '.records.cgRequests_cgAttachmentsClass | length')
e2e_oms DELETE /_admin/stats >/dev/null
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once"
e2e_transfer_once
ack0=$(e2e_scf GET /_admin/state | jq '[.issues[] | select(.status == "Acknowledged")] | length')
e2e_scf DELETE /_admin/stats >/dev/null
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once (write-back)"

for h in scf oms; do
	f=$work/$h.prom
	if [ ! -s "$f" ]; then
		bad "$h: no metrics file"
		continue
	fi
	[ "$(stat -c %a "$f")" = 644 ] && ok "$h: the file is 0644" || bad "$h: mode $(stat -c %a "$f")"
	if out=$(promtool check metrics <"$f" 2>&1); then
		ok "$h: promtool check metrics accepts the file"
	else
		bad "$h: promtool check metrics: $out"
	fi
	ls -A "$work" | grep -q "^\.$h\.prom\..*\.tmp$" && bad "$h: a temporary file was left" || ok "$h: no temporary file left"
done

# API calls the simulator answered: its admin routes ("admin...", "/_admin")
# and the photo files it serves left out
api_calls='[.by_route | to_entries[] | select(.key | test("^admin|/_admin|^GET /(files|assets|rails)/") | not) | .value] | add // 0'
oms_state=$(e2e_oms GET /_admin/state)
oms_stats=$(e2e_oms GET /_admin/stats)
same "issues applied = requests in Cartegraph" \
	"$(value "$work/oms.prom" 'scfgate_records_applied_total{kind="issue"}')" \
	"$(printf '%s' "$oms_state" | jq --argjson n "$req0" '(.records.cgRequestsClass | length) - $n')"
same "attachments applied = attachment records in Cartegraph" \
	"$(value "$work/oms.prom" 'scfgate_records_applied_total{kind="attachment"}')" \
	"$(printf '%s' "$oms_state" | jq --argjson n "$att0" '(.records.cgRequests_cgAttachmentsClass | length) - $n')"
same "acks committed = requests created" \
	"$(value "$work/oms.prom" 'scfgate_records_committed_total{kind="ack"}')" \
	"$(printf '%s' "$oms_state" | jq --argjson n "$req0" '(.records.cgRequestsClass | length) - $n')"
same "Cartegraph API calls = oms-sim's requests" \
	"$(value "$work/oms.prom" 'scfgate_api_requests_total{service="cartegraph"')" \
	"$(printf '%s' "$oms_stats" | jq "$api_calls")"
same "tracked requests = open requests in Cartegraph" \
	"$(value "$work/oms.prom" 'scfgate_tracked_requests ')" \
	"$(printf '%s' "$oms_state" | jq '[.records.cgRequestsClass[] | select(.StatusField != "Closed" and .SCFIssueIDField != null)] | length')"

scf_state=$(e2e_scf GET /_admin/state)
scf_stats=$(e2e_scf GET /_admin/stats)
same "acks applied = issues acknowledged in SeeClickFix" \
	"$(value "$work/scf.prom" 'scfgate_records_applied_total{kind="ack"}')" \
	"$(printf '%s' "$scf_state" | jq --argjson n "$ack0" '[.issues[] | select(.status == "Acknowledged")] | length - $n')"
same "SeeClickFix API calls = scf-sim's requests" \
	"$(value "$work/scf.prom" 'scfgate_api_requests_total{service="seeclickfix"')" \
	"$(printf '%s' "$scf_stats" | jq "$api_calls")"
grep -q '^scfgate_last_success_timestamp_seconds{kind="fetch"} [1-9]' "$work/scf.prom" &&
	ok "the last successful fetch is in the file" || bad "no last successful fetch"
grep -q '^scfgate_queue_records{queue="inbound",dir="done"} [1-9]' "$work/scf.prom" &&
	ok "queue depths are in the file" || bad "no queue depth for inbound/done"

# The example alerting rules: valid, and their unit tests pass.
rules=$src/tools/prometheus/scfgate.rules.yml
if out=$(promtool check rules "$rules" 2>&1); then ok "promtool check rules"; else bad "check rules: $out"; fi
if out=$(cd "$src/tools/prometheus" && promtool test rules scfgate.rules.test.yml 2>&1); then
	ok "promtool test rules"
else
	bad "test rules: $out"
fi
# Every metric the rules use is one the halves write.
for m in $(grep -o 'scfgate_[a-z_]*' "$rules" | sort -u); do
	grep -q "^# TYPE $m " "$work/scf.prom" "$work/oms.prom" && ok "the rules' $m is written" ||
		bad "the rules use $m, which no half writes"
done

echo "metrics tests: $fails failed (files in $work)"
[ "$fails" -eq 0 ]
