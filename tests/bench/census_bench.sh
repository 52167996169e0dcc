#!/usr/bin/env bash
# census_bench.sh BUILD_DIR [N...]: `scfgate scf census` of N issues (default
# 10,000 and 100,000) against scf-sim: SeeClickFix calls beside the ideal
# (issues / 100, the largest list page without details), time, and the peak
# RSS of the census process, which must stay flat (it holds one part of
# 2,000 entries and the set of ids read).  The simulator's limit is off and
# the half's budget is 600 calls in any second, so the time is the
# gateway's and the simulator's, not the rate limit's: at SeeClickFix's 20
# calls a minute, add calls * 3 s.  A benchmark: it reports, it does not
# pass or fail on speed.
set -uo pipefail
build=${1:?usage: census_bench.sh BUILD_DIR [N...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
. "$(dirname "$0")/../../tools/e2e/lib.sh"
[ -x /usr/bin/time ] || e2e_die "/usr/bin/time is needed for the peak RSS (Debian package time)"

printf '%-8s %8s %6s %6s %6s %8s %9s %10s\n' issues listed parts calls ideal seconds 'issues/s' 'peak RSS'
for n in "${sizes[@]}"; do
	work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-census-bench.XXXXXX")
	e2e_init "$build" "$work"
	E2E_PHOTO_PERCENT=0
	e2e_start_sims "$n"
	e2e_make_halves 10 10
	sed -i 's|<ratePerMinute>600</ratePerMinute>|<ratePerMinute>600</ratePerMinute><rateWindowSeconds>1</rateWindowSeconds>|' "$SCF_CFG"
	/usr/bin/time -f '%M %e' -o "$work/time" \
		"$E2E_GATE" scf census --config "$SCF_CFG" --json >"$work/out.json" 2>"$work/logs/census.log" ||
		e2e_die "census of $n issues failed: $(tail -2 "$work/logs/census.log")"
	read -r rss secs <"$work/time"
	jq -r --arg n "$n" --arg rss "$rss" --arg secs "$secs" \
		'"\($n) \(.issues) \(.parts) \(.calls) \(.ideal_calls) \($secs) \((.issues / ($secs | tonumber)) | floor) \($rss)"' \
		"$work/out.json" | awk '{printf "%-8s %8s %6s %6s %6s %8s %9s %7.1f MB\n", $1, $2, $3, $4, $5, $6, $7, $8 / 1024}'
	e2e_cleanup
	rm -rf "$work"
done
