#!/usr/bin/env bash
# e2e_reopen: an issue city staff reopen in SeeClickFix after the crew
# closed its Cartegraph request, under each reopen policy, both halves as
# separate processes on the simulators (`--once` runs, file-copy transport):
#   - ignore (the default): logged, counted in `scfgate status`, nothing
#     sent, no new request; the resident's later comment has its log line;
#   - recreate: exactly one new request for the issue, tracked (acknowledged
#     in SeeClickFix), and a later comment lands on it, not on the closed
#     one; an issue ignored before the policy changed is re-created when it
#     is next read;
#   - the re-created issue's record produced again under a new sequence (the
#     SCF half's state lost after the transport took the records) creates
#     nothing more, and neither does it after a crash of the OMS half between
#     its journalled intent and the create's reply (the lookup by SCF id
#     must pass over the closed request).
set -uo pipefail
build=${1:?usage: reopen.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-reopen.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

E2E_PHOTO_PERCENT=0
e2e_start_sims 0
e2e_make_halves 10 10

scf_once() { "$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once failed"; }
oms_once() { "$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once failed"; }
# One full exchange: fetch, create, acknowledge or close back in SCF.
exchange() {
	scf_once
	e2e_transfer_once
	oms_once
	e2e_transfer_once
	scf_once
}
# requests ISSUE [open|closed|all]: the requests carrying the SCF id.
requests() {
	e2e_dump || bad "state dump"
	"$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" "${2:-all}" | awk -v i="$1" '$2 == i'
}
nreq() { requests "$@" | grep -c . || true; }
scf_status() { jq -r --argjson i "$1" '.issues[] | select(.id == $i) | .status' "$work/state/scf.json"; }
# comments_of OID: the request's CommentsField.
comments_of() { jq -r --argjson o "$1" '.records.cgRequestsClass[] | select(.Oid == $o) | .CommentsField // ""' "$work/state/oms.json"; }
log_has() { grep -q -- "$2" "$work/logs/$1.log"; }

a=$(e2e_new_issue 9101 "Pothole on Elm")
b=$(e2e_new_issue 9102 "Graffiti on the bridge")
[ -n "$a" ] && [ -n "$b" ] || e2e_die "could not report the issues"
exchange
check "both issues have one request each" test "$(nreq "$a")$(nreq "$b")" = 11

# The crew closes both requests; the SCF half closes the issues.
for i in "$a" "$b"; do
	e2e_close_request "$(requests "$i" | awk '{print $1}')" "Done"
done
oms_once
e2e_transfer_once
scf_once
e2e_dump
check "both issues closed in SeeClickFix by write-back" test "$(scf_status "$a")$(scf_status "$b")" = ClosedClosed

# ---- policy ignore (the default) ------------------------------------------
e2e_scf POST "/_admin/issues/$a/status" '{"status": "open", "comment": "Reopened by staff"}' >/dev/null
e2e_scf POST /_admin/clock '{"advance_seconds": 1}' >/dev/null # a second later on its clock
e2e_comment "$a" "It is back after the rain" >/dev/null
: >"$work/logs/scf.log"
scf_once
check "ignore: the reopening is logged" log_has scf "event=reopen-ignored issue=$a "
check "ignore: the resident's comment is logged as not forwarded, with the reason" \
	log_has scf "event=comment-not-forwarded issue=$a .*reopen policy ignore"
check "ignore: nothing is sent" test "$(e2e_records "$SCF_ROOT" outbound new)" = 0
check "ignore: counted in status" sh -c "'$E2E_GATE' status --config '$SCF_CFG' --json | grep -q '\"reopens_ignored\":1'"
e2e_transfer_once
oms_once
check "ignore: no new request" test "$(nreq "$a")" = 1

# ---- policy recreate ---------------------------------------------------------
sed -i 's|</systemComments>|</systemComments>\n    <reopen policy="recreate"/>|' "$SCF_CFG"
check "config check takes recreate and shows it" sh -c "'$E2E_GATE' config check '$SCF_CFG' 2>/dev/null | grep -q 'reopened after close: recreate'"
cp -a "$SCF_ROOT/state/scf" "$work/scf-state-before"
e2e_scf POST "/_admin/issues/$b/status" '{"status": "open", "comment": "Reopened by staff"}' >/dev/null
e2e_scf POST /_admin/clock '{"advance_seconds": 1}' >/dev/null # a second later on its clock
e2e_comment "$a" "Still there" >/dev/null # a, ignored before, is read again
: >"$work/logs/scf.log"
scf_once
check "recreate: the reopening of b is logged" log_has scf "event=reopen-recreate issue=$b .*generation=2"
check "recreate: a, ignored under the old policy, is sent now" log_has scf "event=reopen-recreate issue=$a .*generation=2"
check "recreate: b's record has its generation in its key" log_has scf "effect=issue issue=$b .*key=issue/$b/2"
e2e_transfer_once
: >"$work/logs/oms.log"
oms_once
check "recreate: the OMS half logs the new generation" log_has oms "effect=reopen issue=$b generation=2 .*previous=closed"
check "recreate: exactly one new request for b" test "$(nreq "$b" open)/$(nreq "$b")" = 1/2
check "recreate: exactly one new request for a" test "$(nreq "$a" open)/$(nreq "$a")" = 1/2
new_b=$(requests "$b" open | awk '{print $1}')
old_b=$(requests "$b" closed | awk '{print $1}')
e2e_transfer_once
scf_once
e2e_dump
check "recreate: the new request is acknowledged in SeeClickFix" test "$(scf_status "$b")" = Acknowledged
check "recreate: the new request's id is in the acknowledgment" \
	sh -c "jq -r --argjson i $b '.issues[] | select(.id == \$i) | .comments[].comment' '$work/state/scf.json' | grep -q \"$(requests "$b" open | awk '{print $3}')\""

# A later comment lands on the new request only.
e2e_comment "$b" "The tag came back overnight" >/dev/null
exchange
e2e_dump
check "a later comment lands on the new request" sh -c "printf '%s' \"\$1\" | grep -q 'The tag came back overnight'" _ "$(comments_of "$new_b")"
check "and not on the closed one" sh -c "! printf '%s' \"\$1\" | grep -q 'The tag came back overnight'" _ "$(comments_of "$old_b")"

# ---- the same record again ----------------------------------------------------
# The SCF half loses its state after the transport took the records: the
# reopened issues are produced again under new sequence numbers.
resend() {
	rm -f "$SCF_ROOT"/outbound/done/*.xml
	rm -rf "$SCF_ROOT/state/scf"
	cp -a "$work/scf-state-before" "$SCF_ROOT/state/scf"
	: >"$work/logs/scf.log"
	scf_once
	log_has scf "effect=issue issue=$b .*key=issue/$b/2" || bad "the SCF half did not produce b's record again"
	e2e_transfer_once
	: >"$work/logs/oms.log"
	oms_once
}
resend
check "a re-sent record finds the tracked request" log_has oms "effect=none issue=$b .*reason=created"
check "a re-sent record creates nothing" test "$(nreq "$b")/$(nreq "$a")" = 2/2

# The OMS half crashed after journalling the create's intent, before the
# reply: it looks the SCF id up and must take the open request, not the
# closed one of the first generation.
journal=$(ls "$OMS_ROOT"/state/oms/journal.* | tail -1)
printf 'E %s 0 9102 1 0 0 - 2\n' "$b" >>"$journal"
resend
check "after an OMS crash mid-create the lookup finds the new request" \
	log_has oms "effect=found issue=$b oid=$new_b "
check "and creates nothing" test "$(nreq "$b")" = 2
e2e_comment "$b" "Painted over, thanks" >/dev/null
exchange
e2e_dump
check "comments still land on the new request" sh -c "printf '%s' \"\$1\" | grep -q 'Painted over'" _ "$(comments_of "$new_b")"
check "no record failed on either side" test "$(e2e_records "$OMS_ROOT" outbound failed)$(e2e_records "$SCF_ROOT" inbound failed)" = 00

if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed; logs in $work/logs" >&2
	trap - EXIT
	e2e_cleanup
	exit 1
fi
rm -rf "$work"
echo "e2e_reopen: all checks passed"
