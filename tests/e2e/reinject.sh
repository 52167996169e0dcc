#!/usr/bin/env bash
# e2e_reinject: issue records that failed (a request type whose Cartegraph
# issue name was wrong) and the comments and photos held behind them are
# put back with `spool retry` and `spool release` once the configuration is
# fixed, in every order: the issue's retry first, its releases first (names
# descending), interleaved per issue in a shuffled order (one third of the
# issues each), first with the OMS half stopped (a --once pass afterwards),
# then while the OMS daemon runs and claims between the commands.  The re-injected
# records must be applied in sequence order whatever order the commands ran
# in and whatever order new/ lists them in (ext4 lists a directory in hash
# order, so each round sees another one): every issue gets exactly one
# request, then its comments and photos (the oracle), nothing stays waiting,
# and the daemon's round finishes long before a retry back-off would expire.
# The two rounds share nothing: ORDER (once or daemon) runs one of them, so
# ctest schedules them as two tests (e2e_reinject_once, _daemon).
set -uo pipefail
build=${1:?usage: reinject.sh BUILD_DIR [once|daemon]}
orders=${2:-once daemon}
case $orders in once | daemon | "once daemon") ;; *) echo "reinject.sh: ORDER is once or daemon" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tools/e2e/lib.sh"
top=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-reinject.XXXXXX")
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

names() { ls "$OMS_ROOT/outbound/$1" 2>/dev/null | grep '^[0-9]*-scf\.xml$'; }
retry() { "$E2E_GATE" spool retry --root "$OMS_ROOT" --queue outbound "$1" >/dev/null || bad "retry $1"; }
release() { "$E2E_GATE" spool release --root "$OMS_ROOT" --queue outbound "$1" >/dev/null || bad "release $1"; }
# The SCF issue of every failed and held record, read once per round
# (`spool ls` shows it, as mailq shows a recipient).
declare -A ISSUE
read_issues() {
	local n i
	ISSUE=()
	while read -r n i; do ISSUE[$n]=$i; done < <("$E2E_GATE" spool ls --root "$OMS_ROOT" \
		--queue outbound --json | jq -r '.[] | select(.dir == "failed" or .dir == "hold") |
		"\(.name) \(.issue_id)"')
}
issue_of() { echo "${ISSUE[$1]:-}"; }

# round ORDER: a fresh pair of simulators and halves, records failed and
# held, then put back in ORDER; checks the end state.
round() {
	local order=$1 work f n i
	work=$top/$order
	e2e_init "$build" "$work"
	E2E_PHOTO_PERCENT=100 e2e_start_sims 8
	e2e_make_halves 10 10 3 3600
	cp "$OMS_CFG" "$work/good.xml"
	# Every request type maps to an issue name the library does not have:
	# each create is refused (400), so each issue record fails and the
	# records behind it are held.
	sed -i 's/remoteId="\([^"]*\)"/remoteId="\1 (retired)"/' "$OMS_CFG"
	"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "$order: scf --once"
	e2e_scf GET /_admin/state >"$work/scf0.json" || bad "$order: scf-sim state"
	for i in $("$E2E_TOOL" issues "$work/scf0.json" | cut -d' ' -f1); do
		e2e_comment "$i" "Still there on $i" true >/dev/null
	done
	"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "$order: scf --once"
	e2e_transfer_once
	"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "$order: oms --once"
	local failed held
	failed=$(names failed | wc -l)
	held=$(names hold | wc -l)
	if [ "$failed" -ge 4 ] && [ "$held" -ge 8 ]; then
		ok "$order: $failed issue records failed, $held records held behind them"
	else
		bad "$order: $failed failed, $held held (wanted at least 4 and 8)"
	fi
	cp "$work/good.xml" "$OMS_CFG"
	[ "$order" = daemon ] && e2e_start_half oms
	# The issues are dealt with in three ways at once (one third each):
	# retry, then release its held records; release (names descending),
	# then retry; release and retry interleaved in a shuffled order.  In
	# round "daemon" the OMS half runs meanwhile and claims between them.
	local k=0 iss h
	read_issues
	for f in $(names failed | shuf); do
		iss=$(issue_of "$f")
		[ -n "$iss" ] || bad "$order: no issue id shown for $f"
		case $((k % 3)) in
		0)
			retry "$f"
			for h in $(names hold); do [ "$(issue_of "$h")" = "$iss" ] && release "$h"; done
			;;
		1)
			for h in $(names hold | sort -r); do [ "$(issue_of "$h")" = "$iss" ] && release "$h"; done
			retry "$f"
			;;
		2)
			local first=""
			for h in $(names hold | shuf); do
				[ "$(issue_of "$h")" = "$iss" ] || continue
				release "$h"
				[ -n "$first" ] || { retry "$f"; first=1; }
			done
			[ -n "$first" ] || retry "$f"
			;;
		esac
		k=$((k + 1))
		[ "$order" = daemon ] && sleep 0.5
	done
	if [ "$order" = daemon ]; then
		# Well within the first back-off of a record that met its issue
		# missing (retryBaseMilliseconds 500 doubling; a deadlock never ends).
		if e2e_wait_until 20 '[ "$(e2e_records "$OMS_ROOT" outbound new)" = 0 ] && [ "$(e2e_records "$OMS_ROOT" outbound cur)" = 0 ]'; then
			ok "$order: the daemon applied every re-injected record"
		else
			bad "$order: records still waiting: $(names new | tr '\n' ' ')"
		fi
		e2e_stop_half oms
	else
		for i in 1 2; do
			"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "$order: oms --once"
		done
	fi
	n=$(e2e_records "$OMS_ROOT" outbound new)
	[ "$n" = 0 ] && ok "$order: nothing left waiting" || bad "$order: $n records left in new/: $(names new | tr '\n' ' ')"
	[ -z "$(names failed)$(names hold)" ] && ok "$order: nothing failed or held" ||
		bad "$order: failed: $(names failed | tr '\n' ' ') held: $(names hold | tr '\n' ' ')"
	"$E2E_GATE" status --config "$OMS_CFG" >"$work/status.out" 2>&1 &&
		ok "$order: status is ok" || bad "$order: status: $(tail -1 "$work/status.out")"
	# Acknowledgments back to SeeClickFix, then the exact end state.
	for i in 1 2; do
		e2e_transfer_once
		"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "$order: scf --once"
	done
	e2e_dump || bad "$order: could not read the simulators' states"
	if e2e_oracle >"$work/oracle.out" 2>&1; then
		ok "$order: every issue has exactly one request with its comments and photos"
	else
		bad "$order: oracle:"
		sed 's/^/    /' "$work/oracle.out"
	fi
	n=$(grep -c "effect=create " "$work/logs/oms.log" "$work/logs/oms-half.log" 2>/dev/null |
		awk -F: '{s += $2} END {print s + 0}')
	[ "$n" = "$failed" ] && ok "$order: $n creates, one per failed issue record" ||
		bad "$order: $n creates for $failed failed issue records"
	e2e_cleanup
}

for o in $orders; do
	round "$o"
done
if [ "$fails" = 0 ]; then
	rm -rf "$top"
	echo "e2e_reinject ($orders): all passed"
	exit 0
fi
echo "e2e_reinject ($orders): $fails failed (work directory kept: $top)"
exit 1
