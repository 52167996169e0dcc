#!/usr/bin/env bash
# e2e_report: `scfgate report` of a real pair, loaded in a headless
# browser (Debian's chromium).  Issues go through both halves; a
# reconciliation result is planted with hostile values (a script element,
# an img with onerror, javascript: URLs) and a failed record's reason
# carries a script too.  The page must render (a PNG screenshot of the
# asked size), show the verdict, the queues, the history chart, the
# failures, the classes with counts, the findings linked to SeeClickFix
# and the timeline of an issue; and no script may run: the title after
# load is the report's, and the DOM holds no script, img or javascript:
# link.  --json is the same data; usage errors are one line, exit 2.
set -uo pipefail
build=${1:?usage: report.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-report.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM
fails=0
command -v chromium >/dev/null || e2e_die "chromium is not installed (tools/run setup)"

# browser ARGS... FILE: headless chromium on file://FILE with a private
# profile; no network is needed (the page loads nothing).
browser() {
	local file=${*: -1}
	timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$work/chromium" --allow-file-access-from-files \
		"${@:1:$#-1}" "file://$file" 2>>"$work/logs/chromium.log"
}

e2e_start_sims 6
e2e_make_halves 10 10 3 3600

# usage
out=$("$E2E_GATE" report --config "$SCF_CFG" 2>&1)
[ $? = 2 ] && grep -q '^scfgate report: --html OUT or --json OUT is required$' <<<"$out" &&
	ok "no --html or --json: usage, exit 2" || bad "no output named: $out"
out=$("$E2E_GATE" report --config "$SCF_CFG" --html "$work/x.html" --issue abc 2>&1)
[ $? = 2 ] && grep -q '^scfgate report: --issue needs an SCF issue id' <<<"$out" &&
	ok "--issue abc: usage, exit 2" || bad "--issue abc: $out"
"$E2E_GATE" report --help | grep -q '^usage: scfgate report' && ok "--help" || bad "--help"

# A life: fetched, forwarded, acknowledged (written back).
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once"
e2e_transfer_once
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once"
e2e_transfer_once
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once (write-back)"

# The half sampled its queues into a history file.
hist=$(ls "$SCF_ROOT/state/scf/" | grep '^history\.' | head -1)
[ -n "$hist" ] && head -1 "$SCF_ROOT/state/scf/$hist" | grep -qx 'scfgate-history 1' &&
	[ "$(wc -l <"$SCF_ROOT/state/scf/$hist")" -ge 2 ] &&
	ok "the SCF half keeps a history of its queues ($hist)" || bad "no history file in state/scf"

issue=$("$E2E_GATE" spool ls --config "$SCF_CFG" --queue inbound --dir done --json |
	jq -r '[.[] | select(.kind == "ack")][0].issue_id')
[ -n "$issue" ] && [ "$issue" != null ] && ok "issue $issue was acknowledged" || bad "no ack written back"
request=$("$E2E_GATE" find "$issue" --config "$SCF_CFG" --json | jq -r '.cartegraph.id_field')
oid=$("$E2E_GATE" find "$issue" --config "$SCF_CFG" --json | jq -r '.cartegraph.oid')
# ... and closed: a crew closes the request, the close is written back.
e2e_close_request "$oid" "filled"
"$E2E_GATE" oms --once --config "$OMS_CFG" 2>>"$work/logs/oms.log" || bad "oms --once (poll)"
e2e_transfer_once
"$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$work/logs/scf.log" || bad "scf --once (close)"
[ "$("$E2E_GATE" spool ls --config "$SCF_CFG" --queue inbound --dir done --json |
	jq --argjson i "$issue" '[.[] | select(.kind == "close" and .issue_id == $i)] | length')" = 1 ] &&
	ok "the close of issue $issue was written back" || bad "no close of issue $issue written back"

# A failed record whose reason carries markup.
ack=$(ls "$SCF_ROOT/inbound/done" | head -1)
mkdir -p "$SCF_ROOT/inbound/failed"
cp "$SCF_ROOT/inbound/done/$ack" "$SCF_ROOT/inbound/failed/$ack"
printf '%s\n' "bad signature <script>document.title='pwned-why'</script>" >"$SCF_ROOT/inbound/failed/$ack.why"

# Three older samples before the half's own, so that there is a line to draw.
real=$(sed -n 2p "$SCF_ROOT/state/scf/$hist")
t=${real%% *}
{
	echo 'scfgate-history 1'
	echo "$((t - 900)) 0 0 0 0"
	echo "$((t - 600)) 4 120 1 30"
	echo "$((t - 300)) 2 60 0 0"
	echo "$real"
} >"$SCF_ROOT/state/scf/history.09999999999999999990"

# A reconciliation result with hostile values everywhere a string goes.
mkdir -p "$SCF_ROOT/state/scf/reconcile"
cat >"$SCF_ROOT/state/scf/reconcile/last.json" <<EOF
{
  "census_id": "scf-20261206T101500Z<script>document.title='pwned-census'</script>",
  "completed_at": "2026-12-06T10:20:00Z",
  "window": {"from": "2025-12-06T00:00:00Z", "to": "2026-12-06T10:15:00Z"},
  "id_field": "IDField",
  "scf_base_url": "$SCF_URL",
  "issues": 1234,
  "requests": 1240,
  "classes": {"in-sync": 1200, "missing": 3, "missed-close": 2, "orphan": 1, "drift": 1, "duplicate": 0},
  "findings": [
    {"class": "missing", "issue_id": 123, "html_url": "https://seeclickfix.com/issues/123",
     "scf_status": "Open", "request_type_id": 5, "oid": null, "request_id": null,
     "oms_status": null, "detail": "no request with this SeeClickFix id"},
    {"class": "missed-close", "issue_id": 124, "html_url": "javascript:document.title='pwned-href'",
     "scf_status": "Acknowledged", "oid": 77, "request_id": "SR-000077",
     "oms_status": "Closed", "detail": "<img src=x onerror=\"document.title='pwned-img'\">"},
    {"class": "drift", "issue_id": 125, "html_url": null, "scf_status": "\"><script>document.title='pwned-attr'</script>",
     "oid": 78, "request_id": "SR-000078", "oms_status": "Open", "detail": "type 9101 != 9102"},
    {"class": "orphan", "issue_id": "not a number", "oid": 79, "request_id": ["odd"],
     "oms_status": "Open", "detail": "request without an issue"}
  ],
  "repairs": [{"at": "2026-12-06T10:25:00Z", "class": "missing", "issue_ids": [123], "record": "resend"}]
}
EOF

"$E2E_GATE" report --config "$SCF_CFG" --html "$work/report.html" --json "$work/report.json" \
	--issue "$issue" --issue 999999 2>"$work/report.err"
rc=$?
[ $rc = 0 ] && [ -s "$work/report.html" ] && [ -s "$work/report.json" ] &&
	ok "report wrote the page and the JSON" || bad "report failed ($rc): $(cat "$work/report.err")"
[ "$(stat -c %a "$work/report.html")" = 640 ] && ok "the page is mode 0640" || bad "page mode $(stat -c %a "$work/report.html")"
grep -q "^<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-" "$work/report.html" &&
	ok "a CSP that allows no script" || bad "no CSP"
# tags FILE: every tag; text from the data has no raw '<' once escaped.
tags() { grep -oE '<[a-zA-Z][^>]*>' "$1"; }
danger='^<(script|img|link|iframe|object|embed|base|meta http-equiv="refresh")|[[:space:]](on[a-z]+|src|srcdoc|formaction)=|="javascript:'
! tags "$work/report.html" | grep -qiE "$danger" && ok "the page file has no script, img, link, src, handler" ||
	bad "the page file has: $(tags "$work/report.html" | grep -iE "$danger" | head -3)"

# --json: the same data
j=$work/report.json
check() { jq -e "$1" "$j" >/dev/null && ok "json: $2" || bad "json: $2 ($1)"; }
check '.half == "scf" and (.status.summary | type == "string")' "half and verdict"
check '.reconciliation.classes.missing == 3 and .reconciliation.classes["in-sync"] == 1200' "class counts"
check '.reconciliation.findings | length == 4' "every finding"
check '.reconciliation.findings[3].issue_id == null and .reconciliation.findings[3].request_id == null' \
	"members of the wrong type are null"
check '.reconciliation.id_field == "IDField"' "the IDField"
check "(.history.samples | length == 4) and .history.samples[3].at == $t" "the history samples"
check "(.issues[0].issue_id == $issue) and (.issues[0].timeline | map(.event) == [\"fetched\",\"forwarded\",\"acknowledged\",\"closed\"])" \
	"the issue's timeline events"
check '[.issues[0].timeline[].at | select(test("^20[0-9-]+T[0-9:]+(\\.[0-9]+)?Z$"))] | length == 4' \
	"fetched, forwarded, acknowledged and closed have times"
check ".issues[0].cartegraph.request_id == \"$request\"" "the Cartegraph request of the issue"
check '.issues[1].known == false' "an unknown issue is said so"
check '[.status.queues[] | select(.name == "inbound") | .failed[0].why][0] | contains("<script>")' \
	"the failed record's reason, as found"

# The browser, once: a screenshot of the asked size and the DOM after load.
browser --screenshot="$work/shot.png" --window-size=1200,1600 --hide-scrollbars --dump-dom \
	"$work/report.html" >"$work/dom.html"
if [ -s "$work/shot.png" ] && [ "$(head -c 8 "$work/shot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	w=$(od -An -tu1 -j16 -N4 "$work/shot.png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	h=$(od -An -tu1 -j20 -N4 "$work/shot.png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	[ "$w" = 1200 ] && [ "$h" = 1600 ] && ok "screenshot: a ${w}x${h} PNG" || bad "screenshot is ${w}x${h}"
	# not blank: a blank page compresses to a few KiB
	[ "$(stat -c %s "$work/shot.png")" -gt 20000 ] && ok "screenshot is not blank ($(stat -c %s "$work/shot.png") bytes)" ||
		bad "screenshot looks blank ($(stat -c %s "$work/shot.png") bytes)"
else
	bad "no PNG screenshot: $(tail -3 "$work/logs/chromium.log")"
fi

dom=$work/dom.html
[ -s "$dom" ] && ok "the DOM after load" || bad "no DOM: $(tail -3 "$work/logs/chromium.log")"
dcheck() { grep -q -- "$1" "$dom" && ok "dom: $2" || bad "dom: $2 (/$1/)"; }
dnot() { ! grep -qi -- "$1" "$dom" && ok "dom: $2" || bad "dom: $2: $(grep -oi -- ".\{0,40\}$1.\{0,40\}" "$dom" | head -2)"; }
dcheck '<title>scfgate report: scf half, 20[0-9-]*T[0-9:]*Z</title>' "the title is the report's (no script changed it)"
dnot 'pwned</title>\|<title>pwned' "no script set the title"
dnot '<script' "no script element"
dnot '<img' "no img element"
dnot 'href="javascript:' "no javascript: link"
! tags "$dom" | grep -qiE "$danger" && ok "dom: no script, img, src, event handler or javascript: link in any tag" ||
	bad "dom: $(tags "$dom" | grep -iE "$danger" | head -3)"
dcheck '<p id="verdict" class="attention">ATTENTION: scf half:.*1 failed record' "the verdict names the failed record"
dcheck '<tr data-queue="inbound"><td>inbound</td>' "the queues table"
dcheck '<svg id="chart-waiting"' "the chart of records waiting"
dcheck '<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="[0-9]' "the outbound line"
dcheck "bad signature &lt;script&gt;document.title='pwned-why'&lt;/script&gt;" "the failed record's reason, as text"
dcheck '<tr data-class="missing"><th>missing</th><td class="num">3</td></tr>' "the missing count"
dcheck '<tr data-class="missed-close"><th>missed-close</th><td class="num">2</td></tr>' "the missed-close count"
dcheck '<code id="id-field">IDField</code>' "the IDField is named"
dcheck "scf-20261206T101500Z&lt;script&gt;document.title='pwned-census'&lt;/script&gt;" "the census id with markup, as text"
dcheck '<a rel="noopener noreferrer" href="https://seeclickfix.com/issues/123">123</a>' "a finding links its SCF issue"
dcheck "<a rel=\"noopener noreferrer\" href=\"$SCF_URL/issues/124\">124</a> <span class=\"bad\">(not a web address: javascript:document.title='pwned-href')</span>" \
	"a javascript: URL is shown as text, the link made from the base URL"
dcheck "<a rel=\"noopener noreferrer\" href=\"$SCF_URL/issues/125\">125</a>" "no html_url: the link made from the base URL"
dcheck "&lt;img src=x onerror=\"document.title='pwned-img'\"&gt;" "an img in a detail, as text"
dcheck "<td>\"&gt;&lt;script&gt;document.title='pwned-attr'&lt;/script&gt;</td>" "markup in a status, as text"
dcheck '<td>SR-000077</td>' "the Cartegraph request id of a finding"
dcheck "<article class=\"issue\" id=\"issue-$issue\">" "the issue's timeline"
dcheck '<tr data-event="acknowledged"><td>acknowledged</td><td>20[0-9-]*T[0-9:]*Z</td><td>ack record [^<]* written back to SeeClickFix</td>' \
	"acknowledged: when the ack was written back"
dcheck "$request (Oid [0-9]*)" "the issue's Cartegraph request"
dcheck '<tr data-event="closed"><td>closed</td><td>20[0-9-]*T[0-9:]*Z</td><td>close record [^<]* written back to SeeClickFix (closed in Cartegraph 20' \
	"closed: when the close was written back, and when Cartegraph closed it"
dcheck 'Nothing on this host names this issue' "the unknown issue"

# The OMS half samples its queues from its loop (a daemon; --once does not).
ls "$OMS_ROOT/state/oms/" | grep -q '^history\.' && bad "the OMS half's --once runs wrote a history" ||
	ok "the OMS half's --once runs wrote no history"
e2e_start_half oms
e2e_wait_until 30 'ls "$OMS_ROOT/state/oms/" | grep -q "^history\."' &&
	ok "the running OMS half keeps a history of its queues" || bad "no history file in state/oms"
e2e_stop_half oms

# The OMS host: the same command with its configuration.
"$E2E_GATE" report --config "$OMS_CFG" --html "$work/oms.html" --issue "$issue" 2>"$work/report.err" &&
	grep -q '<h1 id="title">scfgate report: oms half</h1>' "$work/oms.html" &&
	grep -q 'id="reconciliation-none"' "$work/oms.html" &&
	grep -q 'id="history-none" class="note">1 sample so far' "$work/oms.html" &&
	ok "the OMS host's page (no reconciliation yet)" || bad "OMS report: $(cat "$work/report.err")"

# A last.json that is a link is not followed: named, not read.
ln -sf /etc/passwd "$SCF_ROOT/state/scf/reconcile/last.json.tmp" &&
	mv -f "$SCF_ROOT/state/scf/reconcile/last.json.tmp" "$SCF_ROOT/state/scf/reconcile/last.json"
"$E2E_GATE" report --config "$SCF_CFG" --json "$work/link.json" 2>/dev/null &&
	jq -e '.reconciliation == null and (.reconciliation_error | type == "string")' "$work/link.json" >/dev/null &&
	ok "a last.json that is a symbolic link is refused" || bad "a linked last.json: $(jq -c '.reconciliation_error' "$work/link.json")"

[ "$fails" = 0 ] || { echo "$fails check(s) failed; work dir kept: $work"; trap - EXIT; e2e_cleanup; exit 1; }
[ -n "${KEEP:-}" ] || rm -rf "$work"
