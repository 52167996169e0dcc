#!/usr/bin/env bash
# e2e_act: the operator's tools on a real pair of halves: `spool ls` shows
# kind and SCF issue, `spool stat` the age histogram, `spool dismiss` sets a
# failed record aside (who, when, why; status exits 0 again), `spool retry
# --all` and `--now` (a record in back-off is tried at once), and `find` by
# SCF issue id, Oid and IDField on either host; a root that is not a spool
# is refused.
set -uo pipefail
build=${1:?usage: act.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-act.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
# check WHAT COMMAND...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi
}
G=$E2E_GATE
names() { ls "$OMS_ROOT/outbound/$1" 2>/dev/null | grep '^[0-9]*-scf\.xml$'; }
sp() { "$G" spool "$@" --root "$OMS_ROOT" --queue outbound; }

E2E_PHOTO_PERCENT=100 e2e_start_sims 6
e2e_make_halves 10 10 3 3600
cp "$OMS_CFG" "$work/good.xml"
# Every create is refused (an issue name the library does not have).
sed -i 's/remoteId="\([^"]*\)"/remoteId="\1 (retired)"/' "$OMS_CFG"
"$G" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once"
e2e_transfer_once
"$G" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once"
nfailed=$(names failed | wc -l)
[ "$nfailed" -ge 3 ] && ok "$nfailed issue records failed" || bad "only $nfailed failed"
"$G" status --config "$OMS_CFG" >/dev/null 2>&1
[ $? = 1 ] && ok "status exits 1 with failed records" || bad "status does not exit 1"

# ---- ls: kind and issue -------------------------------------------------
f1=$(names failed | head -1)
iss1=$(sp show "$f1" | sed -n 's/^  issue_id: //p')
[ -n "$iss1" ] || bad "no issue id in spool show $f1"
sp ls --dir failed >"$work/ls.txt"
check "ls shows a failed record's kind and SCF issue id" \
	grep -q "^outbound failed *$f1 *issue *$iss1 " "$work/ls.txt"
check "ls prints a header" grep -q "^QUEUE *DIR *NAME *KIND *ISSUE" "$work/ls.txt"
check "ls --json gives kind and issue_id" \
	bash -c "'$G' spool ls --root '$OMS_ROOT' --queue outbound --dir hold --json |
		jq -e 'length > 0 and all(.[]; (.kind == \"comment\" or .kind == \"attachment\") and (.issue_id | type) == \"number\")' >/dev/null"

# ---- stat: age histogram -------------------------------------------------
f2=$(names failed | sed -n 2p)
touch -d '-30 minutes' "$OMS_ROOT/outbound/failed/$f2"
touch -d '-3 hours' "$OMS_ROOT/outbound/hold/$(names hold | head -1)"
sp stat >"$work/stat.txt"
check "stat text shows the buckets" grep -q "0-5m *5-10m *10-20m *20-40m *40-80m *80-160m *160m+" "$work/stat.txt"
check "stat text: failed row" grep -Eq "^  failed +$nfailed +$((nfailed - 1)) +0 +0 +1 +0 +0 +0$" "$work/stat.txt"
sp stat --json >"$work/stat.json"
check "stat --json: failed ages" jq -e --argjson n "$nfailed" \
	'.[0].age_histogram.dirs.failed | .total == $n and .counts == [$n - 1, 0, 0, 1, 0, 0, 0]' "$work/stat.json"
check "stat --json: a held record 3 hours old is 160m+" jq -e \
	'.[0].age_histogram.dirs.hold.counts[6] == 1 and .[0].age_histogram.buckets[6].label == "160m+" and .[0].age_histogram.buckets[6].to_seconds == null' "$work/stat.json"

# ---- dismiss: refusals -----------------------------------------------------
out=$(sp dismiss "$f1" 2>&1)
[ $? = 2 ] && grep -q -- "--reason TEXT is required" <<<"$out" && ok "dismiss without a reason is refused" ||
	bad "dismiss without a reason: $out"
out=$(sp dismiss "$f1" --reason "   " 2>&1)
[ $? = 2 ] && ok "dismiss with a blank reason is refused" || bad "blank reason: $out"
h1=$(names hold | head -1)
out=$(sp dismiss "$h1" --reason "x" 2>&1)
[ $? = 1 ] && grep -q "not in failed/" <<<"$out" && ok "dismiss of a held record is refused" ||
	bad "dismiss of a held record: $out"
for n in "${f1#0}" "$f1.bogus" "../failed/$f1" "$f1.why"; do
	out=$(sp dismiss "$n" --reason "x" 2>&1)
	[ $? = 1 ] && ok "dismiss refuses the name '$n'" || bad "dismiss took '$n': $out"
done
out=$("$G" spool dismiss "$f1" --reason x --root "$work/logs" --queue outbound 2>&1)
[ $? = 1 ] && grep -q "is not a spool root" <<<"$out" && ok "dismiss refuses a root that is not a spool" ||
	bad "dismiss on a non-spool root: $out"
out=$("$G" find "$iss1" --root "$work/logs" 2>&1)
[ $? = 1 ] && grep -q "is not a spool root" <<<"$out" && ok "find refuses a root that is not a spool" ||
	bad "find on a non-spool root: $out"

# ---- fix, dismiss one, retry --all ----------------------------------------
cp "$work/good.xml" "$OMS_CFG"
out=$(SUDO_USER=alice sp dismiss "$f1" --reason "duplicate of a request entered by hand" 2>&1) &&
	ok "dismiss: $out" || bad "dismiss failed: $out"
why=$OMS_ROOT/outbound/dismissed/$f1.why
check "the dismissed record is kept" test -f "$OMS_ROOT/outbound/dismissed/$f1"
check "its note says why" grep -q "^dismissed_reason: duplicate of a request entered by hand$" "$why"
check "its note says who" grep -q "^dismissed_by: alice (sudo, as $(id -un))$" "$why"
check "its note says when" grep -q "^dismissed_at: 20[0-9-]*T[0-9:]*Z$" "$why"
check "its note keeps the failure's reason" grep -q "^failed_reason: .*400" "$why"
check "the failure's .why is kept beside" test -f "$OMS_ROOT/outbound/dismissed/$f1.why.failed"
check "it left failed/" test ! -e "$OMS_ROOT/outbound/failed/$f1"
check "ls --dir dismissed lists it" bash -c "'$G' spool ls --root '$OMS_ROOT' --queue outbound --dir dismissed | grep -q ' $f1 *issue *$iss1 '"
check "stat counts it as dismissed" bash -c "'$G' spool stat --root '$OMS_ROOT' --queue outbound --json | jq -e '.[0].dismissed == 1' >/dev/null"
check "verify --dir dismissed checks its signature" bash -c "'$G' spool verify --root '$OMS_ROOT' --queue outbound --dir dismissed --pubkey '$E2E_WORK/oms-host/keys/scf.pub' 2>&1 | grep -q '^ok .*/dismissed/$f1'"
out=$(sp dismiss "$f1" --reason again 2>&1)
[ $? = 1 ] && ok "a dismissed record cannot be dismissed twice" || bad "dismissed twice: $out"

out=$(sp retry --all 2>&1)
n=$(echo "$out" | grep -c "^requeued ")
[ "$n" = $((nfailed - 1)) ] && ok "retry --all requeued the $n other failed records" || bad "retry --all: $out"
[ -z "$(names failed)" ] && ok "failed/ is empty" || bad "still failed: $(names failed)"
out=$(sp retry --all 2>&1)
grep -q "no failed record" <<<"$out" && ok "retry --all with nothing failed says so" || bad "retry --all again: $out"
out=$(sp retry --all "$f1" 2>&1)
[ $? = 2 ] && ok "retry refuses --all with names" || bad "retry --all NAME: $out"
# The records held behind the dismissed issue stay held; the others go back.
for h in $(names hold); do
	hi=$(sp show "$h" | sed -n 's/^  issue_id: //p')
	[ "$hi" = "$iss1" ] && continue
	sp release "$h" >/dev/null || bad "release $h"
done
"$G" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once"
[ "$(e2e_records "$OMS_ROOT" outbound new)" = 0 ] && ok "the retried records were applied" ||
	bad "left in new/: $(names new | tr '\n' ' ')"
"$G" status --config "$OMS_CFG" >"$work/status.txt" 2>&1 &&
	ok "status exits 0: the dismissed record is not counted as failed" ||
	bad "status: $(tail -1 "$work/status.txt")"
check "status shows the dismissed record beside the other directories" \
	grep -qE "^  tmp [0-9]+ new [0-9]+ cur [0-9]+ done [0-9]+ failed 0 hold [0-9]+ dismissed 1$" "$work/status.txt"
check "status --json counts it under dismissed" bash -c "'$G' status --config '$OMS_CFG' --json | jq -e '[.queues[] | select(.name == \"outbound\")][0].count.dismissed == 1' >/dev/null"

# A failed record makes status exit 1; dismissing it brings 0 back.
h=$(names hold | head -1)
sp hold "$h" >/dev/null 2>&1 # (already held; keeps the test honest if not)
mv "$OMS_ROOT/outbound/hold/$h" "$OMS_ROOT/outbound/failed/$h"
printf 'reason: test: set aside by hand\n' >"$OMS_ROOT/outbound/failed/$h.why"
"$G" status --config "$OMS_CFG" >/dev/null 2>&1
[ $? = 1 ] && ok "a failed record: status exits 1" || bad "status does not exit 1 with a failed record"
sp dismiss "$h" --reason "photo of a dismissed report" >/dev/null || bad "dismiss $h"
"$G" status --config "$OMS_CFG" >"$work/status.txt" 2>&1 && ok "after dismiss: status exits 0" ||
	bad "after dismiss: $(tail -1 "$work/status.txt")"

# ---- find ---------------------------------------------------------------
e2e_transfer_once
"$G" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once"
iss2=$("$G" spool ls --root "$OMS_ROOT" --queue outbound --dir done --json |
	jq -r --arg i "$iss1" '[.[] | select(.kind == "issue" and (.issue_id | tostring) != $i)][0].issue_id')
"$G" find "$iss2" --config "$OMS_CFG" --json >"$work/find.json" || bad "find $iss2 (OMS host)"
check "find (OMS host): the issue's records, state and request" jq -e --argjson i "$iss2" '
	.issue_id == $i and (.cartegraph.oid | type) == "number" and (.cartegraph.id_field | test("^SR-")) and
	(.oms_state.flags | test("created")) and
	any(.records[]; .kind == "issue" and .dir == "done" and .queue == "outbound") and
	any(.records[]; .kind == "attachment") and any(.records[]; .kind == "ack" and .queue == "inbound") and
	.last.ack != null and .last.close == null' "$work/find.json"
oid=$(jq -r .cartegraph.oid "$work/find.json")
rid=$(jq -r .cartegraph.id_field "$work/find.json")
check "find by Oid names the same issue" bash -c "'$G' find $oid --config '$OMS_CFG' --json | jq -e '.issue_id == $iss2' >/dev/null"
check "find by IDField names the same issue" bash -c "'$G' find '$rid' --config '$OMS_CFG' | grep -q '^SCF issue $iss2$'"
"$G" find "$rid" --config "$SCF_CFG" --json >"$work/find-scf.json" || bad "find $rid (SCF host)"
check "find (SCF host): outbound and inbound records, the SCF half's state" jq -e --argjson i "$iss2" --argjson o "$oid" '
	.issue_id == $i and .cartegraph.oid == $o and .oms_state == null and (.scf_state.status | type) == "string" and
	any(.records[]; .kind == "issue" and .queue == "outbound") and any(.records[]; .kind == "ack" and .queue == "inbound" and .dir == "done")' "$work/find-scf.json"
check "find text: last effects" bash -c "'$G' find $iss2 --config '$OMS_CFG' | grep -q '^  ack  *inbound/'"
check "find of the dismissed issue lists its dismissed record" bash -c "'$G' find $iss1 --config '$OMS_CFG' | grep -q ' dismissed *$f1 '"
"$G" find 4242 --config "$OMS_CFG" >/dev/null 2>&1
[ $? = 1 ] && ok "find of an unknown id exits 1" || bad "find of an unknown id"

# ---- retry --now: a record in back-off is tried at once --------------------
c=$(names hold | head -1)
[ -n "$c" ] || bad "no held record left for the back-off test"
e2e_start_half oms --retry-ms 60000
log=$work/logs/oms-half.log
e2e_wait_until 15 "grep -q 'event=start half=oms .* pid=$OMS_HALF_PID ' '$log'" || bad "the OMS half did not start"
sp release "$c" >/dev/null || bad "release $c"
tries() { grep -c "effect=retry .*record=$c" "$log" 2>/dev/null || true; }
e2e_wait_until 15 '[ "$(tries)" -ge 1 ]' && ok "$c meets its issue unknown and backs off" || bad "$c never backed off"
sleep 3
[ "$(tries)" = 1 ] && ok "it waits out its back-off (30 s or more)" || bad "retried $(tries) times already"
out=$(sp retry --now 2>&1) && ok "retry --now: $out" || bad "retry --now: $out"
e2e_wait_until 5 '[ "$(tries)" -ge 2 ]' && ok "after retry --now it was tried again at once" ||
	bad "not tried again after retry --now"
check "the half logged the request" grep -q "effect=retry-now record=$c" "$log"
check "the marker was taken" test ! -e "$OMS_ROOT/outbound/state/retry-now"
e2e_stop_half oms

if [ "$fails" = 0 ]; then
	rm -rf "$work"
	echo "e2e_act: all passed"
	exit 0
fi
echo "e2e_act: $fails failed (work directory kept: $work)"
exit 1
