#!/usr/bin/env bash
# e2e_lifecycle: many issues through their whole life across both halves
# (separate processes, separate spool roots and keys), with a transport
# that misbehaves the way real ones do:
#   - files of a round are delivered in reverse order,
#   - every file is delivered a second time two rounds later,
#   - every third file is first written in place half-way (a torn file)
#     and completed a round later.
# Then: residents report (two of an unmapped type) and comment, the city
# archives one acknowledged issue, crews close requests (per-type closing
# messages), and a forged close record is dropped into the SCF half's
# inbound spool.  Checked exactly against both simulators' states.
set -uo pipefail
build=${1:?usage: lifecycle.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-lifecycle.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

# ---- the misbehaving transport -------------------------------------------
pool=$work/transport/pool
mkdir -p "$pool"
dupes=$work/transport/dupes    # "round path root queue"
pieces=$work/transport/pieces  # "path root queue"
: >"$dupes"
: >"$pieces"
nfile=0
round=0

send() { # SRC_ROOT QUEUE DEST_ROOT
	local src=$1 q=$2 dst=$3 f kept name list
	list=$(ls -r "$src/$q/new" 2>/dev/null | grep '\.xml$') || return 0
	for name in $list; do
		f=$src/$q/new/$name
		kept=$pool/$q-$name
		cp "$f" "$kept" || continue
		mkdir -p "$src/$q/done" && mv -f "$f" "$src/$q/done/"
		nfile=$((nfile + 1))
		if [ $((nfile % 3)) -eq 0 ]; then
			# A transport writing in place: half the bytes now.
			head -c $(($(stat -c %s "$kept") / 2)) "$kept" >"$dst/$q/new/$name"
			echo "$kept $dst $q" >>"$pieces"
			echo "piece $name" >>"$work/logs/transport.log"
		else
			e2e_deliver "$kept" "$dst" "$q" "$name"
		fi
		echo "$((round + 2)) $kept $dst $q" >>"$dupes"
	done
}

transport_round() {
	local kept dst q due rest
	round=$((round + 1))
	while read -r kept dst q; do
		cat "$kept" >"$dst/$q/new/$(basename "${kept#*/$q-}")"
	done <"$pieces"
	: >"$pieces"
	: >"$dupes.next"
	while read -r due kept dst q; do
		if [ "$due" -le "$round" ]; then
			# Again, replacing an identical copy if it is still there.
			cp "$kept" "$work/transport/.again" &&
				mv -f "$work/transport/.again" "$dst/$q/new/$(basename "${kept#*/$q-}")"
			echo "again $(basename "$kept")" >>"$work/logs/transport.log"
		else
			echo "$due $kept $dst $q" >>"$dupes.next"
		fi
	done <"$dupes"
	mv "$dupes.next" "$dupes"
	send "$SCF_ROOT" outbound "$OMS_ROOT"
	send "$OMS_ROOT" inbound "$SCF_ROOT"
}

# After each round: "ROUND DUPES PIECES WAITING", the round's number, the
# copies and pieces it still owes, and the records in the OMS half's
# inbound/new it has not carried yet.
tstate=$work/transport/state
start_transport() {
	(
		trap 'exit 0' TERM
		while :; do
			transport_round
			echo "$round $(wc -l <"$dupes") $(wc -l <"$pieces") $(e2e_records "$OMS_ROOT" inbound new)" \
				>"$tstate.tmp" && mv -f "$tstate.tmp" "$tstate"
			sleep 1
		done
	) &
	E2E_TRANSPORT_PID=$!
	E2E_PIDS="$E2E_PIDS $E2E_TRANSPORT_PID"
}

quiet() { e2e_dump && e2e_oracle >"$work/oracle.last"; }
settle() { # WHAT: wait until the oracle holds (passes asked for), then report
	if e2e_wait_passes 90 quiet; then ok "$1"; else
		bad "$1"
		cat "$work/oracle.last"
	fi
}

# ---- the run ------------------------------------------------------------------
e2e_start_sims 30
e2e_make_halves 10 10 8 3600
e2e_start_half scf
e2e_start_half oms
start_transport

settle "the organization's Open reports of mapped types are synced and acknowledged"

ids=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	type=$((9100 + (i - 1) % 5 + 1)) # 9101..9105; 9105 is not mapped
	photo=false
	[ $((i % 2)) -eq 0 ] && photo=true
	id=$(e2e_new_issue "$type" "Report $i of type $type" "$photo")
	[ -n "$id" ] || bad "could not create report $i"
	ids="$ids $id:$type"
done
settle "ten new reports: eight synced and acknowledged, two unmapped left alone"

e2e_dump
open_issues=$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $2}')
n=0
for issue in $open_issues; do
	n=$((n + 1))
	[ $n -le 6 ] || break
	e2e_comment "$issue" "Resident comment A on $issue" true >/dev/null
	[ $((n % 2)) -eq 0 ] && e2e_comment "$issue" "Resident comment B on $issue" >/dev/null
done
settle "nine resident comments appear exactly once in Cartegraph"

# The city archives one acknowledged issue; then crews close five requests,
# that one among them (write-back must leave an Archived issue alone).
e2e_dump
set -- $("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $1":"$2}')
archived=${1#*:}
e2e_scf POST "/_admin/issues/$archived/status" '{"status": "archived", "comment": "Archived by the city"}' >/dev/null ||
	bad "could not archive $archived"
closed_oids=""
for pair in "$@"; do
	[ "$(echo "$closed_oids" | wc -w)" -lt 5 ] || break
	e2e_close_request "${pair%%:*}" "Crew done" && closed_oids="$closed_oids ${pair%%:*}"
done
settle "five closed requests closed their SCF issues once with the per-type message"
e2e_dump
check "the Archived issue stays Archived with no closing comment" \
	test "$(e2e_scf GET "/_admin/issues/$archived" | grep -o '"action":"close"' | wc -l)" -eq 0

# The OMS half stops; the transport delivers what is left (a round that
# ended after the stop owes nothing: every piece completed, every second
# copy made, the OMS half's inbound/new carried); then a forged close
# record arrives as the next inbound sequence.
e2e_stop_half oms
r0=0
[ -e "$tstate" ] && read -r r0 _ <"$tstate"
transport_done() {
	local r d p w
	read -r r d p w <"$tstate" 2>/dev/null || return 1
	[ "$r" -gt "$r0" ] && [ "$d $p $w" = "0 0 0" ]
}
e2e_wait_for 20 transport_done || bad "the transport did not deliver what was left"
e2e_wait_until 20 '[ "$(e2e_records "$OMS_ROOT" inbound new)" -eq 0 ]'
e2e_wait_until 20 '[ "$(e2e_records "$SCF_ROOT" inbound new)" -eq 0 ]'
victim=""
for pair in $ids; do
	[ "${pair#*:}" = 9105 ] && victim=${pair%%:*} && break
done
next=$(($(e2e_records "$SCF_ROOT" inbound done) + 1))
src=$(grep -l '<kind>close</kind>' "$SCF_ROOT"/inbound/done/*.xml | head -1)
forged=$(printf '%020d-oms.xml' "$next")
old=$(sed -n 's|.*<issue_id>\([0-9]*\)</issue_id>.*|\1|p' "$src")
sed -e "s|<seq>[0-9]*</seq>|<seq>$next</seq>|" -e "s|$old|$victim|g" "$src" >"$work/transport/$forged"
touch -d '-1 minute' "$work/transport/$forged"
mv "$work/transport/$forged" "$SCF_ROOT/inbound/new/$forged"
e2e_wait_for 20 test -e "$SCF_ROOT/inbound/failed/$forged"
check "the forged record is quarantined in the SCF half's inbound failed/" \
	test -e "$SCF_ROOT/inbound/failed/$forged"
check "its reason names the signature" grep -qi signature "$SCF_ROOT/inbound/failed/$forged.why"
out=$("$E2E_GATE" status --config "$SCF_CFG")
rc=$?
check "status of the SCF half exits 1 and lists it" \
	eval '[ $rc -eq 1 ] && grep -q "failed $forged: .*signature" <<<"$out"'
check "status summary: ATTENTION with one failed record" \
	eval 'echo "$out" | tail -1 | grep -q "^ATTENTION: scf half: 1 failed record$"'
check "nothing applied: the targeted issue $victim has no comment from the gateway" \
	test "$(e2e_scf GET "/_admin/issues/$victim" | grep -c '"via":"api"')" -eq 0

e2e_stop_half scf
e2e_stop_transport
unmapped=$(tail -1 "$work/logs/scf-half.json" | sed -n 's/.*"skipped_unmapped":\([0-9]*\).*/\1/p')
check "unmapped reports are skipped and counted (${unmapped:-?})" test "${unmapped:-0}" -ge 2
check "the transport delivered torn pieces" grep -q '^piece ' "$work/logs/transport.log"
check "the transport delivered files twice" grep -q '^again ' "$work/logs/transport.log"

e2e_dump
if e2e_oracle --min-synced 15 --min-closed 5 --min-photos 60 >"$work/oracle.last"; then
	ok "final oracle: $(cat "$work/oracle.last")"
else
	bad "final oracle"
	cat "$work/oracle.last"
fi
out_sent=$(e2e_records "$SCF_ROOT" outbound done)
in_sent=$(e2e_records "$OMS_ROOT" inbound done)
check "every outbound record applied exactly once ($out_sent)" \
	test "$(e2e_records "$OMS_ROOT" outbound done)" -eq "$out_sent"
check "every inbound record applied exactly once ($in_sent)" \
	test "$(e2e_records "$SCF_ROOT" inbound done)" -eq "$in_sent"
reasons=$(e2e_failed_reasons "$OMS_ROOT" outbound; e2e_failed_reasons "$SCF_ROOT" inbound)
check "failed/ holds only the forged record" test "$reasons" = "$(e2e_failed_reasons "$SCF_ROOT" inbound | grep "^$forged: ")"
check "no record held" test "$(e2e_records "$OMS_ROOT" outbound hold)$(e2e_records "$SCF_ROOT" inbound hold)" = 00

echo "lifecycle: $fails failed (files in $work)"
[ "$fails" -eq 0 ] && rm -rf "$work"
[ "$fails" -eq 0 ]
