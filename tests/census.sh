#!/usr/bin/env bash
# scf_census: `scfgate scf census` against a real scf-sim process.
#   - 2,800 issues: the census lists every issue of the mapped types in the
#     window exactly once, with SeeClickFix's status, type and location, in
#     parts of at most 2,000 entries numbered from 1, only the final one
#     last; one list call per 100 issues (the ideal), nothing per issue;
#   - what the state believes before the half ran: nothing sent (the
#     beliefs after sending, acknowledging and closing: scf_resend,
#     e2e_reconcile);
#   - within the rate budget: the simulator enforces 6 calls in any 2 s and
#     sees no call over it, and the census takes the time that budget needs;
#   - the census id and the calls are printed and logged.
# The daemon's schedule is in tests/resend.sh (a small simulator).
set -uo pipefail
build=${1:?usage: census.sh BUILD_DIR}
. "$(dirname "$0")/../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-census.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

E2E_PHOTO_PERCENT=0
e2e_start_sims 2800
e2e_make_halves 10 10

e2e_dump || e2e_die "state dump"
now=$(date +%s)
# The truth: mapped types, updated in the last 365 days.
jq -r --argjson from $((now - 365 * 86400)) '.issues[] | select(.request_type_id != 9105 and .updated_at >= $from)
	| "\(.id) \(.status) \(.request_type_id)"' "$work/state/scf.json" | sort >"$work/truth"
n=$(wc -l <"$work/truth")
sent_before=$(e2e_records "$SCF_ROOT" outbound new)

out=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>"$work/logs/census.log") || bad "census exits 0"
echo "# $out"
id=$(jq -r .census_id <<<"$out")
check "the census id is the producer and the start time" \
	sh -c "echo '$id' | grep -Eq '^scf-[0-9]{8}T[0-9]{6}Z$'"
check "every issue of the window is counted ($n)" test "$(jq .issues <<<"$out")" = "$n"
parts=$(((n + 1999) / 2000))
check "in $parts parts" test "$(jq .parts <<<"$out")" = "$parts"
ideal=$(((n + 99) / 100))
check "one call per 100 issues: $ideal calls, the ideal" \
	test "$(jq -r '"\(.calls) \(.pages) \(.ideal_calls)"' <<<"$out")" = "$ideal $ideal $ideal"
check "the log names the census and its calls" \
	grep -q "event=census-done census=$id issues=$n parts=$parts skipped=0 pages=$ideal calls=$ideal" "$work/logs/census.log"

# The records themselves, in sequence order.
: >"$work/entries"
k=0
for f in $(ls "$SCF_ROOT/outbound/new" | sort | tail -n "$parts"); do
	k=$((k + 1))
	"$E2E_GATE" spool show --root "$SCF_ROOT" --queue outbound "$f" --pubkey "$E2E_WORK/scf-host/keys/scf.pub" --json >"$work/part$k.json" 2>/dev/null ||
		bad "part $k does not verify"
	check "part $k: key, number and last" test "$(jq -r '"\(.envelope.kind) \(.envelope.key) \(.census.part) \(.census.last)"' "$work/part$k.json")" = \
		"census census/$id/$k $k $([ $k = $parts ] && echo true || echo false)"
	check "part $k: at most 2,000 entries" test "$(jq '.census.entries | length' "$work/part$k.json")" -le 2000
	jq -r '.census.entries[] | "\(.issue_id) \(.status) \(.request_type_id) \(.sent) \(.acknowledged) \(.closed)"' "$work/part$k.json" >>"$work/entries"
done
check "the parts carry the mapped request types" test "$(jq -c .census.request_type_ids "$work/part1.json")" = "[9101,9102,9103,9104]"
check "every issue exactly once, with its status and type" \
	cmp -s "$work/truth" <(awk '{print $1, $2, $3}' "$work/entries" | sort)
check "no issue twice" test "$(awk '{print $1}' "$work/entries" | sort | uniq -d | wc -l)" = 0
check "nothing is believed sent, acknowledged or closed before the half ran" \
	test "$(awk '$4 != "false" || $5 != "false" || $6 != "false"' "$work/entries" | wc -l)" = 0
check "only census records were added" \
	test "$(e2e_records "$SCF_ROOT" outbound new)" = $((sent_before + parts))

# Within the budget: 6 calls in any 2 s, enforced by the simulator too.
sed -i 's|<ratePerMinute>600</ratePerMinute>|<ratePerMinute>6</ratePerMinute><rateWindowSeconds>2</rateWindowSeconds>|' "$SCF_CFG"
e2e_scf POST /_admin/rate-limit '{"per_minute": 6, "window_seconds": 2, "sliding": true}' >/dev/null
sleep 2
t0=$(date +%s%N)
out=$("$E2E_GATE" scf census --config "$SCF_CFG" --json 2>>"$work/logs/census.log") || bad "census within a small budget exits 0"
ms=$((($(date +%s%N) - t0) / 1000000))
e2e_dump
check "no call over the simulator's limit (no 429)" test "$(jq .rate_limit.count_429 "$work/state/scf.json")" = 0
check "the same issues, the same calls" test "$(jq -r '"\(.issues) \(.calls)"' <<<"$out")" = "$n $ideal"
# N calls at 6 in any 2 s cannot take less than (N - 6) / 6 * 2 s.
check "paced by the budget (${ms} ms for $ideal calls)" test "$ms" -ge $(((ideal - 6) * 2000 / 6))

check "--window-days is checked" sh -c "! '$E2E_GATE' scf census --config '$SCF_CFG' --window-days 0 2>/dev/null"
[ "$fails" = 0 ] || { tail -20 "$work/logs/census.log"; exit 1; }
