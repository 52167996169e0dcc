#!/usr/bin/env bash
# e2e_hostile: the SCF half's host is compromised.  Its attacker holds the
# SCF half's private key and writes anything, under any name, into the OMS
# half's outbound/new, mixed among good records (real issues from scf-sim,
# before and after the hostile ones in the sequence): a FIFO, a directory,
# a device node, symbolic links out of the spool (to a canary FIFO, to a
# canary file, to a valid forged record), a file of mode 000, an empty
# file, a truncated record, a 100 MB file, attribute and namespace bombs,
# deep nesting, a record signed with another key, a record of the wrong
# kind signed with the SCF key, a name that disagrees with its content, a
# sequence far ahead, names with a line break, an escape sequence and
# invalid UTF-8; and bundles carrying a bomb, a record of the wrong kind,
# an attribute bomb as the manifest, or a FIFO given as the bundle; later,
# copies under the names of applied records (half of one: invalid after the
# grace period, not a conflict; a forged one that verifies: a conflict).
# Then the OMS half runs (`oms --once` under a timeout) and: every good
# issue has exactly one request, nothing forged is applied, the canaries
# outside the spool are never read, and `status` exits 1 naming every
# hostile entry, escaped.
set -uo pipefail
build=${1:?usage: hostile.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-hostile.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
SPOOL_DEMO=$E2E_BUILD/tools/spool-demo/spool-demo
[ -x "$SPOOL_DEMO" ] || e2e_die "$SPOOL_DEMO is not built"
# Long enough that one `oms --once` run under ASan on a loaded 2-core CI
# machine ends inside it: the checks below rely on a half-written file
# still being "arriving" right after the run that first saw it.
GRACE=6

e2e_start_sims 6
e2e_make_halves 10 10 "$GRACE" 3600
SCF_KEY=$E2E_WORK/scf-host/keys/scf.key
SCF_PUB=$E2E_WORK/oms-host/keys/scf.pub
NEW=$OMS_ROOT/outbound/new
name_of() { printf '%020d-scf.xml' "$1"; }

# ---- good records, first batch ------------------------------------------
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once (first batch)"
good_a=$(e2e_records "$SCF_ROOT" outbound new)
[ "$good_a" -ge 2 ] || e2e_die "the SCF half committed only $good_a records"
e2e_transfer_once
sample=$SCF_ROOT/outbound/done/$(name_of 1)
grep -q '<kind>issue</kind>' "$sample" || e2e_die "the first record is not an issue"
sample_issue=$(sed -n 's|.*<issue_id>\([0-9]*\)</issue_id>.*|\1|p' "$sample" | head -1)

# ---- what the attacker prepares outside the spool -------------------------
out=$work/outside
mkdir -p "$out" "$work/forge"
mkfifo "$out/canary.fifo"
printf 'secret\n' >"$out/canary.txt"
touch -a -d '2001-01-01' "$out/canary.txt"
canary_atime=$(stat -c %X "$out/canary.txt")
# Does this file system record reads in atime?  Then the canary file
# shows whether anyone read it.
printf 'probe\n' >"$out/probe"
touch -a -d '2001-01-01' "$out/probe"
cat "$out/probe" >/dev/null
atime_works=0
[ "$(stat -c %X "$out/probe")" != "$(stat -c %X "$out/canary.txt")" ] && atime_works=1
"$E2E_GATE" keygen --dir "$work/forge" --name other >/dev/null || e2e_die "keygen"
forged_ids=""
# forge SEQ FILE [KEY]: a new issue (an id scf-sim never had) as scf's SEQ,
# signed with the SCF key (or KEY).
nforged=0
forge() {
	nforged=$((nforged + 1))
	local id=$((99900000 + nforged))
	forged_ids="$forged_ids $id"
	sed "s/$sample_issue/$id/g" "$sample" >"$work/forge/plain.xml"
	"$SPOOL_DEMO" sign "${3:-$SCF_KEY}" scf "$1" "$work/forge/plain.xml" "$2" ||
		e2e_die "could not sign a forged record"
}

# ---- the hostile entries, as the sequences after the first batch ----------
seq=$good_a
hostile="" # "SEQ|REASON|what" per entry named like a record (REASON: in its .why)
# next_hostile WHAT REASON: the next sequence; H is its path in new/.
next_hostile() {
	seq=$((seq + 1))
	hostile="$hostile$seq|$2|$1"$'\n'
	H=$NEW/$(name_of $seq)
}
next_hostile "a FIFO" 'a FIFO, not a regular file: never read'
mkfifo "$H"
fifo_seq=$seq
next_hostile "a directory" 'a directory, not a regular file'
mkdir "$H" && : >"$H/inside"
if [ "$(id -u)" = 0 ] && mknod "$out/null" c 1 3 2>/dev/null; then
	next_hostile "a device node" 'a device node, not a regular file'
	mknod "$H" c 1 3
else
	echo "# no device node: mknod needs root (and the capability)"
fi
next_hostile "a link to a canary FIFO outside the spool" 'a symbolic link, not a regular file'
ln -s "$out/canary.fifo" "$H"
next_hostile "a link to a canary file outside the spool" 'a symbolic link, not a regular file'
ln -s "$out/canary.txt" "$H"
next_hostile "a link to a valid forged record outside the spool" 'a symbolic link, not a regular file'
forge $seq "$out/linked.xml"
ln -s "$out/linked.xml" "$H"
next_hostile "a link to a good record in the SCF half's spool" 'a symbolic link, not a regular file'
ln -s "$SCF_ROOT/outbound/done/$(name_of 2)" "$H"
next_hostile "a file of mode 000" 'rejected after the grace period'
if [ "$(id -u)" = 0 ]; then
	head -c 300 "$sample" >"$H" # root reads any mode: what it holds must be bad too
else
	forge $seq "$H"
fi
chmod 000 "$H"
next_hostile "an empty file" 'empty record (0 bytes)'
: >"$H"
next_hostile "a truncated record" 'not well-formed XML'
forge $seq "$work/forge/full.xml"
head -c $(($(stat -c %s "$work/forge/full.xml") - 40)) "$work/forge/full.xml" >"$H"
next_hostile "a 100 MB file" 'larger than the 4194304-byte limit'
truncate -s 100M "$H"
bomb_attrs() {
	printf '<?xml version="1.0"?>\n<record format="1" '
	seq 1 20000 | sed 's/.*/a&="x"/' | tr '\n' ' '
	printf '><producer>scf</producer><seq>%s</seq></record>\n' "$1"
}
bomb_ns() {
	printf '<?xml version="1.0"?>\n<record format="1" '
	seq 1 20000 | sed 's|.*|xmlns:n&="urn:n&"|' | tr '\n' ' '
	printf '><producer>scf</producer><seq>%s</seq></record>\n' "$1"
}
bomb_deep() {
	printf '<?xml version="1.0"?>\n<record format="1"><producer>scf</producer><seq>%s</seq>' "$1"
	yes '<issue>' | head -n 100000 | tr -d '\n'
	yes '</issue>' | head -n 100000 | tr -d '\n'
	printf '</record>\n'
}
next_hostile "an attribute bomb" 'an element with more than 64 attributes'
bomb_attrs $seq >"$H"
next_hostile "a namespace bomb" 'more than 8 namespace declarations'
bomb_ns $seq >"$H"
next_hostile "deep nesting" 'nested deeper than 64'
bomb_deep $seq >"$H"
next_hostile "a DOCTYPE with entities" 'is not allowed'
{
	printf '<?xml version="1.0"?>\n<!DOCTYPE record [<!ENTITY a "aaaaaaaaaa">'
	printf '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
	printf '<record format="1"><producer>scf</producer><seq>%s</seq><key>&c;</key></record>\n' $seq
} >"$H"
next_hostile "a record signed with another key" 'signed by key [0-9a-f]*, expected'
forge $seq "$H" "$work/forge/other.key"
next_hostile "a record of the wrong kind (a close) signed with the SCF key" 'not an outbound record kind'
"$SPOOL_DEMO" put "$work/forge/root" outbound x "$SCF_KEY" 1 >/dev/null || e2e_die "spool-demo put"
"$SPOOL_DEMO" sign "$SCF_KEY" scf $seq "$work/forge/root/outbound/new/$(name_of 1 | sed 's/scf/x/')" "$H" ||
	e2e_die "could not sign the close record"
grep -q '<kind>close</kind>' "$H" || bad "the wrong-kind record is not a close"
next_hostile "a name that does not match its content" 'name does not match content: the file says producer scf seq 777777'
forge 777777 "$H"
last_hostile=$seq
far=$((last_hostile + 5000000))
forge $far "$NEW/$(name_of $far)"
hostile="$hostile$far|implausibly far ahead|a sequence far ahead"$'\n'
# Names that are not record names.
n_nl=$(printf '%s\nok: all good.xml' "$(name_of 3)")
n_esc=$(printf 'x\033[2J\033[31mred-scf.xml')
n_utf=$(printf '%020d-scf\377\376.xml' 4)
for n in "$n_nl" "$n_esc" "$n_utf"; do
	cp "$sample" "$NEW/$n"
done

# ---- good records, second batch, after the hostile sequences --------------
# The DMZ host's own producer resumes after the highest of its sequences
# it finds locally: the attacker "sent" the hostile ones, so each went
# through this host's outbound/ and its name is in done/.  The first is at
# the number the producer's sequence file resumes from, which makes its
# open read the queue instead of trusting the file.
for ((s = good_a + 1; s <= last_hostile; s++)); do
	: >"$SCF_ROOT/outbound/done/$(name_of $s)"
done
for t in 9101 9102 9103; do
	e2e_new_issue $t "Reported after the attack ($t)" >/dev/null || bad "new issue"
done
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once (second batch)"
good_b=$(e2e_records "$SCF_ROOT" outbound new)
[ "$good_b" -ge 1 ] || bad "the SCF half committed no record in the second batch"
first_b=$(ls "$SCF_ROOT/outbound/new" | head -1)
[ "$first_b" = "$(name_of $((last_hostile + 1)))" ] ||
	bad "the second batch starts at $first_b, not after the hostile sequences"
e2e_transfer_once
rm -f "$SCF_ROOT/outbound/done/$(name_of $last_hostile)"
good_ids=$(cat "$SCF_ROOT"/outbound/done/*.xml | sed -n 's|^    <issue_id>\([0-9]*\)</issue_id>$|\1|p' | sort -u)
good_issues=$(printf '%s\n' $good_ids | grep -c .)
echo "# $good_a + $good_b good records ($good_issues issues), $(printf '%s' "$hostile" | grep -c .) hostile names, 3 names that are not records"

# ---- bundles ---------------------------------------------------------------
# bundle_of NAME FILE: a bundle of the SCF half's outbound carrying FILE
# as NAME, signed with the SCF key (the attacker has it).  scfgate's own
# export refuses what is not a record, so the forger packs it unread.
bundle_of() {
	local r=$work/forge/b-$1
	mkdir -p "$r"
	mkdir -p "$r/outbound/new" "$r/outbound/tmp"
	cp "$2" "$r/outbound/new/$(name_of $3)"
	"$SPOOL_DEMO" bundle "$r" outbound "$SCF_KEY" "$work/forge/$1.tar" \
		>>"$work/logs/bundle.log" 2>&1
}
bomb_attrs 9000 >"$work/forge/bomb.xml"
bundle_of bomb "$work/forge/bomb.xml" 9000 || bad "could not build the bomb bundle"
"$SPOOL_DEMO" sign "$SCF_KEY" scf 9001 "$work/forge/root/outbound/new/$(name_of 1 | sed 's/scf/x/')" \
	"$work/forge/close.xml" || e2e_die "sign"
bundle_of kind "$work/forge/close.xml" 9001 || bad "could not build the wrong-kind bundle"
mkfifo "$work/forge/fifo.tar"
# A manifest with 6,000 attributes on its root (what libxml2 checks in
# quadratic time), under the manifest size cap: the lexical gate refuses
# it as it streams in, before any parse and before the signature matters.
mkdir -p "$work/forge/mf"
{
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<manifest format="1" kind="records"'
	for i in $(seq 1000 6999); do printf ' a%d=""' "$i"; done
	printf '>\n</manifest>\n'
} >"$work/forge/mf/manifest.xml"
printf 'ed25519 0000000000000000 %088d\n' 0 >"$work/forge/mf/manifest.sig"
tar --format=ustar -cf "$work/forge/mfbomb.tar" -C "$work/forge/mf" manifest.xml manifest.sig
before=$(ls -A "$NEW" | sort | md5sum)
for b in bomb kind fifo mfbomb; do
	msg=$(timeout 20 "$E2E_GATE" bundle import "$work/forge/$b.tar" --root "$OMS_ROOT" \
		--queue outbound --pubkey "$SCF_PUB" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$msg" | grep -c .)
	if [ "$rc" = 124 ]; then
		bad "bundle import of the $b bundle hung"
	elif [ "$b" = mfbomb ] && ! grep -q "entry 'manifest.xml': line 2: an element with more than 64 attributes" <<<"$msg"; then
		bad "bundle import of the manifest bomb: not refused by the gate: $msg"
	elif [ "$rc" != 0 ] && [ "$lines" = 1 ]; then
		ok "bundle import refuses the $b bundle with one line: $msg"
	else
		bad "bundle import of the $b bundle: exit $rc, $lines lines: $msg"
	fi
done
after=$(ls -A "$NEW" | sort | md5sum)
check "no bundle imported anything" [ "$before" = "$after" ]

# record_names_left: true while new/ holds a name that is a record name
# (one with a line break in it is not).
record_names_left() {
	local f
	for f in "$NEW"/*; do
		[[ $(basename "$f") =~ ^[0-9]{20}-scf\.xml$ ]] && return 0
	done
	return 1
}

# age_new: every entry in new/ as if written GRACE + 1 seconds ago.  The
# grace period runs from the older of a file's mtime and the moment the
# consuming process first saw it (spool_consume.c), and each `oms --once`
# run sees the files anew: a run after this judges them as it would after
# sleeping that long.  touch -h sets the times of the entry itself (a
# symbolic link, a FIFO, a file of mode 000) and opens nothing.
age_new() {
	find "$NEW" -mindepth 1 -maxdepth 1 -exec touch -h -d "@$(($(date +%s) - GRACE - 1))" {} +
}

# ---- the OMS half ------------------------------------------------------------
# Past the grace period of the files that are not valid, so one run may
# settle everything; the loop allows for more.
age_new
start=$(date +%s)
applied_all=0
runs=0
hung=0
while [ $(($(date +%s) - start)) -lt 40 ]; do
	runs=$((runs + 1))
	timeout 30 "$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log"
	rc=$?
	if [ "$rc" = 124 ]; then
		hung=1
		break
	fi
	record_names_left || { applied_all=1; break; }
	sleep 1
done
took=$(($(date +%s) - start))
check "the OMS half never hung (each run under a timeout)" [ "$hung" = 0 ]
check "every record-named entry in new/ settled within ${took}s ($runs runs)" [ "$applied_all" = 1 ]
e2e_dump || bad "could not read the simulators' states"
"$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" all >"$work/state/requests.txt"
missing=""
for id in $good_ids; do
	n=$(awk -v id="$id" '$2 == id' "$work/state/requests.txt" | wc -l)
	[ "$n" = 1 ] || missing="$missing $id($n)"
done
check "every good issue has exactly one request ($good_issues issues)${missing:+; not:$missing}" [ -z "$missing" ]
total=$(wc -l <"$work/state/requests.txt")
check "nothing hostile was applied ($total requests for $good_issues good issues)" [ "$total" = "$good_issues" ]
applied_forged=""
for id in $forged_ids 4000; do
	awk -v id="$id" '$2 == id {f=1} END {exit !f}' "$work/state/requests.txt" && applied_forged="$applied_forged $id"
done
check "no forged issue reached Cartegraph${applied_forged:+:$applied_forged}" [ -z "$applied_forged" ]
n_done=$(e2e_records "$OMS_ROOT" outbound "done")
check "done/ holds exactly the good records ($n_done of $((good_a + good_b)))" [ "$n_done" = $((good_a + good_b)) ]
links=$(find "$OMS_ROOT" -type l | wc -l)
check "no symbolic link left outside failed/" [ "$(find "$OMS_ROOT" -type l -not -path '*/failed/*' | wc -l)" = 0 ]
# The canary FIFO: opening it for reading blocks until a writer comes, so
# a half that followed the link would have hung a run (the timeout above
# reports it); one still holding it open would let this open for writing
# succeed.
if timeout 2 sh -c "exec 3>'$out/canary.fifo'" 2>/dev/null; then
	bad "someone holds the canary FIFO open for reading"
else
	ok "the canary FIFO outside the spool was never opened ($links links quarantined)"
fi
if [ "$atime_works" = 1 ]; then
	check "the canary file outside the spool was never read (atime unchanged)" \
		[ "$(stat -c %X "$out/canary.txt")" = "$canary_atime" ]
else
	echo "# this file system does not record reads in atime: the canary file is not checked"
fi

# ---- copies under the names of applied records ----------------------------
# Half of record 1 (a re-send caught half-way): waits like any arriving
# file, then is invalid, never a conflict.  A forged record 2 that
# verifies and differs: a conflict.
d1=$OMS_ROOT/outbound/done/$(name_of 1)
head -c $(($(stat -c %s "$d1") / 2)) "$d1" >"$NEW/$(name_of 1)"
forge 2 "$NEW/$(name_of 2)"
timeout 30 "$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log"
check "a half re-sent copy waits out the grace period (no conflict yet)" \
	[ -e "$NEW/$(name_of 1)" ] && [ ! -e "$OMS_ROOT/outbound/failed/$(name_of 1).conflict" ]
check "a re-sent copy that verifies and differs is a conflict" \
	[ -e "$OMS_ROOT/outbound/failed/$(name_of 2).conflict" ]
age_new
timeout 30 "$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log"
check "a re-sent copy left cut short is quarantined as invalid, not as a conflict" \
	[ -e "$OMS_ROOT/outbound/failed/$(name_of 1)" ] && [ ! -e "$OMS_ROOT/outbound/failed/$(name_of 1).conflict" ]
hostile="${hostile}1|rejected after the grace period|a half re-sent copy of an applied record"$'\n'

# ---- what the operator sees ----
# (grep reads here-strings: with pipefail, `printf | grep -q` fails when
# grep stops reading early)--------------------------------------------
"$E2E_GATE" status --config "$OMS_CFG" >"$work/status.out" 2>"$work/status.err"
rc=$?
check "status exits 1 (exit $rc)" [ "$rc" = 1 ]
st=$(cat "$work/status.out" "$work/status.err")
while IFS='|' read -r s why what; do
	[ -n "$s" ] || continue
	n=$(name_of "$s")
	if grep -q "failed $n: .*$why" <<<"$st"; then
		ok "status names $what ($n: /$why/)"
	else
		bad "status does not name $what ($n: /$why/): $(printf '%s\n' "$st" | grep "$n")"
	fi
done <<<"$hostile"
if grep -q "3 files in outbound/new are not a record" <<<"$st"; then
	ok "status counts the 3 names that are not records"
else
	bad "status does not count the 3 names that are not records"
fi
for pat in '\\x0aok: all good.xml' 'x\\x1b\[2J\\x1b\[31mred-scf.xml' '-scf\\xff\\xfe.xml'; do
	if grep -q -- "$pat" <<<"$st"; then
		ok "status shows the name /$pat/ escaped"
	else
		bad "status does not show the name /$pat/"
	fi
done
if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$work/status.out") ||
	LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$work/status.err"); then
	bad "a raw control character reached status's output"
else
	ok "no raw control character in status's output"
fi
if grep -q '^ok: all good' <<<"$st"; then
	bad "a name made a fake line in status"
else
	ok "no fake line in status"
fi
# `spool show` of the quarantined FIFO: refused at once by its type; an
# fopen of it would block until a writer came (the timeout reports that).
show=$(timeout 10 "$E2E_GATE" spool show --config "$OMS_CFG" "$(name_of "$fifo_seq")" 2>&1)
rc=$?
check "spool show of the quarantined FIFO exits 1 without blocking (exit $rc)" [ "$rc" = 1 ]
if grep -q "a FIFO, not a regular file" <<<"$show"; then
	ok "spool show says the FIFO is not a regular file"
else
	bad "spool show does not say what the FIFO is: $show"
fi
for n in "$n_nl" "$n_esc" "$n_utf"; do
	[ -e "$NEW/$n" ] || bad "a name that is not a record was taken"
done

echo "hostile tests: $fails failed (files in $work)"
[ "$fails" -eq 0 ] && rm -rf "$work"
[ "$fails" -eq 0 ]
