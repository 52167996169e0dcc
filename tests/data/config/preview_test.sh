#!/bin/sh
# preview_test.sh SCFGATE DATADIR: `scfgate preview` as a city runs it to
# try its templates, on a saved SCF issue and on record files.  DATADIR
# is tests/data.  Nothing may be sent and no spool touched: the
# configuration points at a Cartegraph that does not answer and a spool
# that does not exist, and both must stay that way.
set -u
bin=$1
data=$2
dir=$(mktemp -d /tmp/scfgate-preview-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qF -- "$1" "$dir/out" || fail "$2: output lacks: $1"; }

cat >"$dir/oms.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="oms">
  <spool>
    <root>$dir/spool</root>
    <producer>oms</producer>
    <privateKey>$dir/oms.key</privateKey>
    <peerPublicKey>$dir/scf.pub</peerPublicKey>
  </spool>
  <cartegraph>
    <baseUrl>http://127.0.0.1:1/City</baseUrl>
    <credentials>$dir/cg.cred</credentials>
    <fields>
      <externalId field="SeeClickFixIDField"/>
    </fields>
    <templates>
      <description>
        {summary} [{request_type}]
        Reported by {reporter}

        {description}

        {questions}
        SeeClickFix issue {issue_id}: {url}
      </description>
      <comment>{text} ({commenter}, {created_at})</comment>
    </templates>
  </cartegraph>
  <requestTypes>
    <requestType id="34322" title="Sidewalk ice" remoteId="Sidewalk Ice">
      <acknowledgmentMessage>Thanks! Crews salt sidewalks within a day ({request_id}).</acknowledgmentMessage>
    </requestType>
    <requestType id="7153" title="Pothole" remoteId="Pothole">
      <closingMessage>Pothole {request_id} filled.</closingMessage>
    </requestType>
  </requestTypes>
  <messages>
    <acknowledgment>Forwarded as {request_id}.</acknowledgment>
    <closing>{request_type} {request_id} closed.</closing>
  </messages>
</scfgate>
XML

# a saved SCF issue (GET /issues/:id with details): photo, two comments
"$bin" preview --config "$dir/oms.xml" "$data/scf/real_2026_20980365_details.json" \
	>"$dir/out" 2>"$dir/err" || fail "issue: $(cat "$dir/err")"
has '== create request: POST /api/v1/classes/cgRequestsClass ==' issue
has '"IssueField":	"Sidewalk Ice",' issue
has '"SeeClickFixIDField":	"20980365"' issue
# the description template, read back from the body, line for line
cat >"$dir/want" <<'TXT'
== DescriptionField of the create body, as text ==
Snow/Ice Removal on Sidewalk [Sidewalk ice]
Reported by Alyssa

Sheet of ice of still unplowed sidewalk. Super dangerous, near schools. Been reported multiple times with no change.

Is the sidewalk blocked?: Yes
Reporter Name: No Answer Given
SeeClickFix issue 20980365: https://seeclickfix.com/issues/20980365

== CommentsField of the create body, as text ==
TXT
grep -A 10 -F '== DescriptionField of the create body, as text ==' "$dir/out" >"$dir/got"
cmp -s "$dir/want" "$dir/got" || fail "description: $(diff "$dir/want" "$dir/got")"
# the comment template, the marker first; the system comment not forwarded
has '[scf-comment 62322106] Thank you for reporting an issue' issue
has 'No cause for action at this time. (Code Compliance Inspector: Anissa, 2026-02-10T11:03:43-05:00)' issue
grep -q 62315589 "$dir/out" && fail "issue: a system comment was shown as sent"
has '== attachment: POST /api/v1/classes/cgRequestsClass/1/cgRequests_cgAttachmentsClass ==' issue
has '5d8d14c7-351c-4aba-8b91-4c453e1a4e69_2026-02-10T08-13-55-05-00.jpeg' issue
# the type's own acknowledgment; the default closing message
has 'Thanks! Crews salt sidewalks within a day (PREVIEW-1).' issue
has 'Sidewalk ice PREVIEW-1 closed.' issue
grep -q "issue/20980365 with .*nothing was sent" "$dir/err" || fail "issue: stderr $(cat "$dir/err")"

# --json: one document, the same bodies; --oid and --request-id
"$bin" preview --config "$dir/oms.xml" --json --oid 4242 --request-id R-9 \
	"$data/scf/real_2026_20980365_details.json" >"$dir/out" 2>"$dir/err" || fail "json: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "json: stderr not empty: $(cat "$dir/err")"
has '"input":	"issue",' json
has '"acknowledgment":	"Thanks! Crews salt sidewalks within a day (R-9).",' json
has '"path":	"/api/v1/classes/cgRequestsClass/4242/cgRequests_cgAttachmentsClass",' json
has '"DescriptionField":	"Snow/Ice Removal on Sidewalk [Sidewalk ice]\nReported by Alyssa\n\nSheet of ice' json
[ "$(head -c1 "$dir/out")" = "{" ] || fail "json: not one document"

# record files: an issue (type 7153, two photos), a comment, an attachment
"$bin" preview --config "$dir/oms.xml" "$data/records/00000000000000000042-scf.xml" \
	>"$dir/out" 2>"$dir/err" || fail "issue record: $(cat "$dir/err")"
has '"IssueField":	"Pothole",' "issue record"
has 'Pothole PREVIEW-1 filled.' "issue record"
has 'Forwarded as PREVIEW-1.' "issue record"
[ "$(grep -c '^== attachment:' "$dir/out")" -eq 2 ] || fail "issue record: not two attachments"
"$bin" preview --config "$dir/oms.xml" "$data/records/00000000000000000043-scf.xml" \
	>"$dir/out" 2>"$dir/err" || fail "comment record: $(cat "$dir/err")"
has '== note for SCF comment: PUT /api/v1/classes/cgRequestsClass ==' "comment record"
has '"CommentsField":	"[scf-comment 88120345] Still there this morning, cars swerving around it. (Dana Ruiz, 2026-11-26T09:12:44-05:00)"' "comment record"
"$bin" preview --config "$dir/oms.xml" "$data/records/00000000000000000044-scf.xml" \
	>"$dir/out" 2>"$dir/err" || fail "attachment record: $(cat "$dir/err")"
has '"AttachmentField":	"https://seeclickfix.com/files/issue_images/0001/2345/full.jpg",' attachment
"$bin" preview --config "$dir/oms.xml" "$data/records/00000000000000000007-oms.xml" \
	>"$dir/out" 2>"$dir/err" || fail "ack record: $(cat "$dir/err")"
has 'REQ-2026-00412' "ack record"

# nothing was written anywhere
[ -e "$dir/spool" ] && fail "a spool appeared"

# an unmapped request type, a page, junk: exit 1, one line naming why
"$bin" preview --config "$dir/oms.xml" "$data/scf/real_org_details_2018_387246.json" \
	>/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "unmapped type did not exit 1"
grep -q "request type 14550 is not mapped" "$dir/err" || fail "unmapped: $(cat "$dir/err")"
"$bin" preview --config "$dir/oms.xml" "$data/scf/real_org_page_2018_14550.json" \
	>/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "page did not exit 1"
grep -q "a page of issues" "$dir/err" || fail "page: $(cat "$dir/err")"
echo "not json" >"$dir/junk"
"$bin" preview --config "$dir/oms.xml" "$dir/junk" >/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "junk did not exit 1"

# a broken template is the configuration's error, with its line
sed 's/{questions}/{questoins}/' "$dir/oms.xml" >"$dir/bad.xml"
"$bin" preview --config "$dir/bad.xml" "$data/scf/real_2026_20980365_details.json" \
	>/dev/null 2>"$dir/err"
[ $? -eq 1 ] || fail "bad template did not exit 1"
grep -q "bad.xml:22: description: unknown placeholder {questoins}" "$dir/err" ||
	fail "bad template: $(cat "$dir/err")"

# usage
"$bin" preview "$data/scf/real_2026_20980365_details.json" >/dev/null 2>"$dir/err"
[ $? -eq 2 ] || fail "no --config did not exit 2"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "usage error is not one line"
"$bin" preview --config "$dir/oms.xml" "$data/scf/real_2026_20980365_details.json" --oid \
	>/dev/null 2>"$dir/err"
[ $? -eq 2 ] || fail "--oid without a value did not exit 2"
"$bin" preview --config "$dir/oms.xml" --oid 0 "$data/scf/real_2026_20980365_details.json" \
	>/dev/null 2>&1
[ $? -eq 2 ] || fail "--oid 0 did not exit 2"
"$bin" preview --help | grep -q "scfgate preview \[--config FILE\]" || fail "--help"
"$bin" --help | grep -q "preview" || fail "scfgate --help lacks preview"
echo ok
