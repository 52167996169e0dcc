#!/usr/bin/env bash
# e2e_status: `scfgate status` of both halves on real spools: usage, a
# healthy empty set-up, records waiting for the transport, a gap (shown,
# then alarmed, then gone), a tampered record quarantined (exit 1 with the
# reason), the tracked requests, the last successful API call, a fatal
# stop (exit 1, named, cleared by the next healthy pass), text and JSON,
# strangers in the halves' state directories (named, never opened).
set -uo pipefail
build=${1:?usage: status.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-status.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
# expect RC PATTERN DESCRIPTION -- ARGS...: run status, check exit and output.
expect() {
	local want=$1 pat=$2 what=$3 out rc
	shift 4
	out=$("$E2E_GATE" status "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$out"; then
		ok "$what"
	else
		bad "$what (exit $rc, wanted $want and /$pat/):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

e2e_start_sims 25
e2e_make_halves 10 10 3 6

mkdir -p "$work/noetc"
SCFGATE_CONFIG_DIR="$work/noetc" expect 2 \
	"scfgate status: no --config, and neither $work/noetc/scf.xml nor $work/noetc/oms.xml exists" \
	"usage: no config and no default" --
expect 2 "scfgate status: unknown argument --bogus" "usage: unknown argument" -- --bogus
expect 0 "usage: scfgate status \[--config FILE\]" "--help" -- --help
expect 1 "scfgate status: " "unreadable configuration fails with one line" -- --config "$work/none.xml"

mkdir -p "$work/fresh-root"
sed "s|<root>[^<]*</root>|<root>$work/fresh-root</root>|" "$SCF_CFG" >"$work/fresh.xml"
expect 0 "not created yet" "a root no half has used reads as empty, healthy" -- --config "$work/fresh.xml"
[ -z "$(ls -A "$work/fresh-root")" ] && ok "status creates nothing" || bad "status created $(ls -A "$work/fresh-root")"
expect 0 "^ok: scf half, 0 waiting" "empty SCF half is healthy" -- --config "$SCF_CFG"
expect 0 "watermark: none yet" "no watermark before the first pass" -- --config "$SCF_CFG"
expect 0 '"attention":false' "JSON of a healthy OMS half" -- --config "$OMS_CFG" --json
expect 0 '"tracked_open":0,' "no tracked request before the OMS half ran" -- --config "$OMS_CFG" --json
expect 0 "last successful Cartegraph call: none recorded yet" "no Cartegraph call yet" -- --config "$OMS_CFG"
expect 0 '"fatal_stop":null' "no fatal stop recorded" -- --config "$SCF_CFG" --json

"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once"
n=$(e2e_records "$SCF_ROOT" outbound new)
[ "$n" -ge 3 ] || bad "the SCF half committed only $n records"
expect 0 "new $n " "records waiting for the transport are counted" -- --config "$SCF_CFG"
expect 0 "oldest waiting: [0-9]*s (since " "the oldest waiting record's age" -- --config "$SCF_CFG"
expect 0 "watermark: 20[0-9-]*T" "the watermark after a pass" -- --config "$SCF_CFG"
expect 0 '"watermark_epoch":[0-9]' "the watermark in JSON" -- --config "$SCF_CFG" --json
expect 0 "last successful SeeClickFix call: 20[0-9-]*T.* ([0-9]*s ago" "the last SeeClickFix call after a pass" -- --config "$SCF_CFG"
# recent: within a minute of status's own clock
recent() {
	"$E2E_GATE" status --config "$1" --json 2>/dev/null |
		jq -e --arg k "$2" '.[.half].last_success[$k] as $t | $t != null and .now - $t >= 0 and .now - $t < 60' >/dev/null
}
recent "$SCF_CFG" seeclickfix && ok "last SeeClickFix call is recent (JSON)" || bad "last SeeClickFix call not recent in JSON"

# Deliver everything but the first record: a gap.
first=$(ls "$SCF_ROOT/outbound/new" | head -1)
for f in "$SCF_ROOT"/outbound/new/*.xml; do
	[ "$(basename "$f")" = "$first" ] || e2e_deliver "$f" "$OMS_ROOT" outbound
done
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log"
expect 0 "gap: seq 1 of scf missing for .*not alarmed yet" "a fresh gap is shown, not alarmed" -- --config "$OMS_CFG"
# Past gapAlarmSeconds (6) without sleeping: the OMS half's note of when it
# first met the gap ("SEQ SINCE" in outbound/state/gap-scf) and the later
# records in new/ move 7 s back.
gapf=$OMS_ROOT/outbound/state/gap-scf
if read -r gseq gsince <"$gapf" && [ "$gseq" = 1 ]; then
	printf '%s %s\n' "$gseq" $((gsince - 7)) >"$gapf"
else
	bad "no gap note for seq 1 in $gapf"
fi
touch -d '-7 seconds' "$OMS_ROOT"/outbound/new/*.xml
expect 1 "ALARMED" "a gap older than gapAlarmSeconds is alarmed" -- --config "$OMS_CFG"
expect 1 "^ATTENTION: oms half: outbound waits for seq 1 of scf (alarmed)" "one-line summary names the gap" -- --config "$OMS_CFG"
expect 1 '"gap":{"producer":"scf","seq":1,.*"alarmed":true' "the gap in JSON" -- --config "$OMS_CFG" --json

e2e_deliver "$SCF_ROOT/outbound/new/$first" "$OMS_ROOT" outbound
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log"
expect 0 "gap: none (next expected seq $((n + 1)))" "the gap closes when the record arrives" -- --config "$OMS_CFG"
creates=$(grep -c "effect=create " "$work/logs/oms.log")
[ "$creates" -ge 1 ] || bad "the OMS half created no request"
expect 0 "tracked requests: $creates open (created, not closed), $creates known" "tracked requests match the creates ($creates)" -- --config "$OMS_CFG"
expect 0 "\"tracked_open\":$creates," "tracked requests in JSON" -- --config "$OMS_CFG" --json
recent "$OMS_CFG" cartegraph && ok "last Cartegraph call is recent (JSON)" || bad "last Cartegraph call not recent in JSON"

# A record altered after signing, as the next sequence: quarantined.
last=$(ls "$SCF_ROOT/outbound/new" | tail -1)
next=$((n + 1))
forged=$(printf '%020d-scf.xml' "$next")
sed -e "s|<seq>$n</seq>|<seq>$next</seq>|" "$SCF_ROOT/outbound/new/$last" >"$work/transport/$forged"
touch -d '-1 minute' "$work/transport/$forged"
mv "$work/transport/$forged" "$OMS_ROOT/outbound/new/$forged"
"$E2E_GATE" oms --once --json --config "$OMS_CFG" 2>>"$work/logs/oms.log" >"$work/oms-once.json"
[ -e "$OMS_ROOT/outbound/failed/$forged" ] || bad "the altered record was not quarantined"
grep -q "event=quarantined queue=outbound record=$forged failed=$forged why=\"rejected after the grace period: .*signature" "$work/logs/oms.log" &&
	ok "the quarantine has a log line with the record, the queue and the reason" ||
	bad "no quarantine log line: $(grep quarantined "$work/logs/oms.log")"
grep -q '"quarantined":1,' "$work/oms-once.json" && ok "the run's --json counts the quarantine" ||
	bad "--json: $(cat "$work/oms-once.json")"
why=$(head -1 "$OMS_ROOT/outbound/failed/$forged.why" 2>/dev/null)
expect 1 "failed $forged: .*" "a failed record is listed with its reason" -- --config "$OMS_CFG"
expect 1 "^ATTENTION: oms half: 1 failed record$" "the summary counts failed records" -- --config "$OMS_CFG"
expect 1 "$(printf '%s' "${why:0:40}" | sed 's/[][\.*^$/]/\\&/g')" "the reason is the first line of the .why" -- --config "$OMS_CFG"
expect 1 '"failed":\[{"name":"'"$forged"'","why":"' "failed records in JSON" -- --config "$OMS_CFG" --json
expect 0 "^ok: scf half" "the other half stays healthy" -- --config "$SCF_CFG"

# A wrong token: SCF answers 401, the half stops, status says so.
(umask 077 && printf 'not-the-token\n' >"$work/wrong.token")
sed "s|<credentials auth=\"bearer\">[^<]*<|<credentials auth=\"bearer\">$work/wrong.token<|" "$SCF_CFG" >"$work/wrong.xml"
grep -q "$work/wrong.token" "$work/wrong.xml" || bad "could not point the configuration at the wrong token"
"$E2E_GATE" scf --once --config "$work/wrong.xml" 2>>"$work/logs/scf.log" && bad "scf --once with a wrong token succeeded"
expect 1 "^ATTENTION: scf half: stopped on a fatal error: .*401" "a fatal stop makes status exit 1 and names it" -- --config "$SCF_CFG"
expect 1 "fatal stop: at 20[0-9-]*T" "the fatal stop's time" -- --config "$SCF_CFG"
expect 1 '"fatal_stop":{"at":[0-9]*,"reason":"[^"]*401' "the fatal stop in JSON" -- --config "$SCF_CFG" --json
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once after the token was fixed"
expect 0 "fatal stop: none recorded" "a healthy pass clears the fatal stop" -- --config "$SCF_CFG"

# The same on the OMS half: a wrong password, 401 after a re-login.
(umask 077 && printf 'scfgate:wrong-pass\n' >"$work/wrong.cred")
sed "s|<credentials auth=\"basic\">[^<]*<|<credentials auth=\"basic\">$work/wrong.cred<|" "$OMS_CFG" >"$work/wrong-oms.xml"
grep -q "$work/wrong.cred" "$work/wrong-oms.xml" || bad "could not point the configuration at the wrong password"
"$E2E_GATE" oms --once --config "$work/wrong-oms.xml" 2>>"$work/logs/oms.log" && bad "oms --once with a wrong password succeeded"
expect 1 "^ATTENTION: oms half: stopped on a fatal error: .*401" "an OMS fatal stop makes status exit 1 and names it" -- --config "$OMS_CFG"
expect 1 '"fatal_stop":{"at":[0-9]*,"reason":"[^"]*401' "the OMS fatal stop in JSON" -- --config "$OMS_CFG" --json
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" # the failed record above stays
expect 1 "fatal stop: none recorded" "a healthy poll clears the OMS fatal stop" -- --config "$OMS_CFG"

# Files in new/ that are not record names: never taken, so status names
# them (escaped: a name may carry a terminal escape or a newline) and asks
# for attention until they are removed.
evil=$(printf 'junk\033[31m\nok: fake line.xml')
: >"$SCF_ROOT/inbound/new/$evil"
part=$(printf '00000000000000000001-oms.xml\033[2J.part')
: >"$SCF_ROOT/inbound/new/$part"
expect 1 "^ATTENTION: scf half: 2 files in inbound/new are not a record (first: '" "names that are not records make status ask for attention" -- --config "$SCF_CFG"
expect 1 "junk\\\\x1b\[31m\\\\x0aok: fake line.xml" "such a name is shown escaped" -- --config "$SCF_CFG"
out=$("$E2E_GATE" status --config "$SCF_CFG" 2>&1)
if grep -q "$(printf '\033')" <<<"$out" || grep -q "^ok: fake line" <<<"$out"; then
	bad "status printed a name raw"
else
	ok "no raw escape or fake line in the output"
fi
expect 1 '"not_records":2,"not_record_names":\["' "not-record names in JSON" -- --config "$SCF_CFG" --json
for sub in "ls --dir new" "verify --pubkey $E2E_WORK/scf-host/keys/oms.pub"; do
	out=$("$E2E_GATE" spool $sub --root "$SCF_ROOT" --queue inbound 2>&1)
	if grep -q "$(printf '\033')" <<<"$out" || grep -q "^ok: fake line" <<<"$out"; then
		bad "spool $sub printed a name raw"
	elif grep -q 'oms.xml.*\[2J.part' <<<"$out"; then
		ok "spool $sub shows the name escaped"
	else
		bad "spool $sub does not show the name: $out"
	fi
done
rm -f "$SCF_ROOT/inbound/new/$evil" "$SCF_ROOT/inbound/new/$part"
expect 0 "^ok: scf half" "removed, the half is healthy again" -- --config "$SCF_CFG"

# A FIFO under the next inbound record's name that cannot be set aside:
# failed/ already holds every name the quarantine could use (a full or
# read-only failed/ does the same). The SCF half records it, and status
# names it with the reason until it is dealt with.
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log"
last=$(ls "$SCF_ROOT/inbound/done" "$SCF_ROOT/inbound/failed" "$SCF_ROOT/inbound/new" 2>/dev/null |
	grep -E '^[0-9]{20}-oms\.xml$' | sort | tail -1)
[ -n "$last" ] || last=00000000000000000000-oms.xml # nothing carried in yet
if true; then
	stuck=$(printf '%020d-%s' "$((10#${last:0:20} + 1))" "${last:21}")
	mkfifo "$SCF_ROOT/inbound/new/$stuck"
	(cd "$SCF_ROOT/inbound/failed" && : >"$stuck" && for i in $(seq 1 9999); do : >"$stuck.$i"; done)
	"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log"
	expect 1 "^ATTENTION: scf half:.* 1 file in inbound/new cannot be quarantined (first: $stuck: a FIFO, not a regular file: never read; cannot be moved to failed/: .*no free name)" \
		"a file that cannot be quarantined makes status ask for attention, with the reason" -- --config "$SCF_CFG"
	expect 1 '"cannot_quarantine":1,"cannot_quarantine_entries":\["'"$stuck"': a FIFO' "in JSON" -- --config "$SCF_CFG" --json
	rm -f "$SCF_ROOT/inbound/new/$stuck" "$SCF_ROOT/inbound/failed/$stuck" "$SCF_ROOT/inbound/failed/$stuck".*
	expect 0 "^ok: scf half" "the file gone, the half is healthy again" -- --config "$SCF_CFG"
fi

# Strangers in state/<half>/ where the half keeps its own files: status
# never opens them (a FIFO would hang it, a link would stand in for the
# half's record), asks for attention and names each with the way out. A
# FIFO planted as the OMS half's journal stops the half at once, named.
# timeout: without the checks these hang.
expect_t() {
	local want=$1 pat=$2 what=$3 out rc
	shift 4
	out=$(timeout 20 "$E2E_GATE" status "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -q -- "$pat"; then
		ok "$what"
	else
		bad "$what (exit $rc, wanted $want and /$pat/):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
}
big=10000000000000000000 # a generation newer than any the half wrote
mkfifo "$SCF_ROOT/state/scf/status.$big"
expect_t 1 "^ATTENTION: scf half:.*state/scf/status\.$big: a FIFO, not a regular file (never read); only the half writes its status files there: remove it" \
	"a FIFO as the newest status generation: named, with the way out" -- --config "$SCF_CFG"
expect_t 1 '"status_stranger":"[^"]*status\.'"$big"': a FIFO' "the status stranger in JSON" -- --config "$SCF_CFG" --json
rm -f "$SCF_ROOT/state/scf/status.$big"
printf 'scfgate-scf-status 1\nlast_ok 1\nend\n' >"$work/planted-status"
ln -s "$work/planted-status" "$SCF_ROOT/state/scf/status.$big"
expect_t 1 "^ATTENTION: scf half:.*status\.$big: a symbolic link, not a regular file" \
	"a link as the newest status generation: named, not believed" -- --config "$SCF_CFG"
rm -f "$SCF_ROOT/state/scf/status.$big"
mkdir "$SCF_ROOT/state/scf/status.$big"
expect_t 1 "^ATTENTION: scf half:.*status\.$big: a directory, not a regular file" \
	"a directory as the newest status generation: named" -- --config "$SCF_CFG"
rmdir "$SCF_ROOT/state/scf/status.$big"
mkfifo "$SCF_ROOT/state/scf/health.$big"
expect_t 1 "^ATTENTION: scf half:.*state/scf/health\.$big: a FIFO, not a regular file (never read); only scfgate writes health files there: remove it" \
	"a FIFO as the newest health generation: named, with the way out" -- --config "$SCF_CFG"
rm -f "$SCF_ROOT/state/scf/health.$big"
# Every stranger is named, not only the newest: two status and two
# health generations, a FIFO and a link each.
older=09999999999999999999 # newer than the half's, older than $big
mkfifo "$SCF_ROOT/state/scf/status.$big" "$SCF_ROOT/state/scf/health.$older"
ln -s "$work/planted-status" "$SCF_ROOT/state/scf/status.$older"
ln -s "$work/planted-status" "$SCF_ROOT/state/scf/health.$big"
for g in "status.$big: a FIFO" "status.$older: a symbolic link" "health.$big: a symbolic link" "health.$older: a FIFO"; do
	expect_t 1 "^ATTENTION: scf half:.*state/scf/$g, not a regular file (never read); only [a-z ]* files there: remove it" \
		"every status and health stranger named: $g" -- --config "$SCF_CFG"
done
expect_t 1 '"status_strangers":\["[^"]*status\.'"$big"': a FIFO[^"]*","[^"]*status\.'"$older"': a symbolic link' \
	"every status stranger in JSON" -- --config "$SCF_CFG" --json
expect_t 1 '"health_strangers":\["[^"]*health\.'"$big"': a symbolic link[^"]*","[^"]*health\.'"$older"': a FIFO' \
	"every health stranger in JSON" -- --config "$SCF_CFG" --json
rm -f "$SCF_ROOT/state/scf/status.$big" "$SCF_ROOT/state/scf/status.$older" \
	"$SCF_ROOT/state/scf/health.$big" "$SCF_ROOT/state/scf/health.$older"
# A queue's state files (position, gap, lock, sequence): a FIFO or a link
# there is named by status and spool stat, never opened or followed.
mkfifo "$SCF_ROOT/inbound/state/next-zz"
ln -s "$work/planted-status" "$SCF_ROOT/inbound/state/gap-zz"
for g in "next-zz: a FIFO" "gap-zz: a symbolic link"; do
	expect_t 1 "^ATTENTION: scf half:.*/inbound/state/$g, not a regular file (never opened); only scfgate keeps the queue's locks, sequences and positions there: remove it" \
		"a queue state stranger named: $g" -- --config "$SCF_CFG"
done
expect_t 1 '"state_strangers":2,"state_stranger_entries":\["[a-z-]*zz: ' "queue state strangers in JSON" -- --config "$SCF_CFG" --json
out=$(timeout 20 "$E2E_GATE" spool stat --root "$SCF_ROOT" 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q "ATTENTION: .*/inbound/state/next-zz: a FIFO, not a regular file (never opened).*: remove it" <<<"$out" &&
	grep -q "ATTENTION: .*/inbound/state/gap-zz: a symbolic link, not a regular file" <<<"$out"; then
	ok "spool stat names both queue state strangers"
else
	bad "spool stat and the queue state strangers (exit $rc): $out"
fi
rm -f "$SCF_ROOT/inbound/state/next-zz" "$SCF_ROOT/inbound/state/gap-zz"
# A link planted as a queue directory: refused and named, never followed.
mv "$SCF_ROOT/inbound/new" "$work/inbound-new.saved"
mkdir -p "$work/elsewhere"
ln -s "$work/elsewhere" "$SCF_ROOT/inbound/new"
expect_t 1 "^ATTENTION: scf half:.* queue inbound cannot be read: .*inbound/new: a symbolic link where the spool keeps a directory (never followed): remove it, then run scfgate spool init" \
	"a link as inbound/new: named with the way out" -- --config "$SCF_CFG"
out=$(timeout 20 "$E2E_GATE" spool stat --root "$SCF_ROOT" 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "inbound/new: a symbolic link where the spool keeps a directory" <<<"$out"; then
	ok "spool stat names a link as inbound/new (exit 1)"
else
	bad "spool stat and a link as inbound/new (exit $rc): $out"
fi
rm -f "$SCF_ROOT/inbound/new"
mv "$work/inbound-new.saved" "$SCF_ROOT/inbound/new"
expect_t 0 "^ok: scf half" "the strangers removed, the half is healthy again" -- --config "$SCF_CFG"

journal=$(ls "$OMS_ROOT/state/oms" | grep -E '^journal\.[0-9]{20}$' | tail -1)
if [ -z "$journal" ]; then
	bad "the OMS half keeps no journal in state/oms"
else
	mv "$OMS_ROOT/state/oms/$journal" "$work/journal.saved"
	mkfifo "$OMS_ROOT/state/oms/$journal"
	out=$(timeout 20 "$E2E_GATE" oms --once --config "$OMS_CFG" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] &&
		printf '%s' "$out" | grep -q "state/oms/$journal: a FIFO, not a regular file.*remove it"; then
		ok "a FIFO as the journal stops the OMS half at once, named (exit $rc)"
	else
		bad "a FIFO as the journal (exit $rc): $out"
	fi
	expect_t 1 "^ATTENTION: oms half:.* the half's state cannot be read: .*state/oms/$journal: a FIFO" \
		"status names the FIFO standing as the journal" -- --config "$OMS_CFG"
	rm -f "$OMS_ROOT/state/oms/$journal"
	mv "$work/journal.saved" "$OMS_ROOT/state/oms/$journal"
	expect_t 1 "tracked requests: [0-9]* open" "the journal back, status reads the tracked requests" -- --config "$OMS_CFG"
fi

echo "status tests: $fails failed (files in $work)"
[ "$fails" -eq 0 ] && rm -rf "$work"
[ "$fails" -eq 0 ]
