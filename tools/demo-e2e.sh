#!/usr/bin/env bash
# tools/demo-e2e.sh BUILD_DIR: scfgate end to end, the way a city runs it,
# on one machine and in about a minute.
#
#   1. scf-sim (a SeeClickFix organization with 25 reports), oms-sim
#      (a Cartegraph OMS) and geo-sim (the city's ArcGIS geocode service)
#      start on free loopback ports.
#   2. Each half gets its own spool root, its own Ed25519 key pair (only
#      the public keys are exchanged) and its own configuration.
#   3. `scfgate scf` and `scfgate oms` run as two separate daemons with
#      10-second polls; a plain file-copy loop carries record files between
#      the two spool roots (outbound: SCF host -> OMS host; inbound: OMS
#      host -> SCF host), copying to a temporary name and renaming, as a
#      shared folder, rsync or a diode would.
#   4. Residents report new issues (one of a type the city does not send to
#      Cartegraph) and comment while a crew writes a note on one request
#      (the comments go to CommentsField, the note stays intact); crews
#      close some requests.
#      With "transfer" as second argument (tools/run demo transfer), the
#      files move with `scfgate transfer` instead: an OpenSSH server on a
#      free loopback port (a throw-away host key, an authorized key, the
#      current user) stands for the DMZ host's, and the OMS host runs
#      `scfgate transfer` as a daemon, pulling outbound and pushing
#      inbound every second over SFTP, the host key pinned.
#   5. Everything stops and a summary is printed, with a few requests'
#      addresses (verified by the geocoder or as reported) and `scfgate
#      status` of each half.  Each half wrote Prometheus metrics
#      (<metrics><textfile>) after every pass: the files must parse
#      (promtool check metrics when installed) and their counters must
#      equal the simulators' own counts.  The files stay in the directory
#      printed at the end.
set -euo pipefail

build=${1:?usage: tools/demo-e2e.sh BUILD_DIR [transfer]}
mode=${2:-copy}
case $mode in
copy | transfer) ;;
*) echo "usage: tools/demo-e2e.sh BUILD_DIR [transfer]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
. "$here/e2e/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-demo-e2e.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
count_synced() {
	e2e_dump && [ "$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" | wc -l)" -ge "$1" ]
}
count_scf_closed_by_gateway() {
	e2e_dump && [ "$(grep -o '"via":"api","action":"close"' "$work/state/scf.json" | wc -l)" -ge "$1" ]
}
notes_have() {
	e2e_dump && grep -q "\[scf-comment $1\]" "$work/state/oms.json"
}

step "1. simulators on loopback"
E2E_GEO=1
e2e_start_sims 25
echo "scf-sim (SeeClickFix, organization 1102): $SCF_URL"
echo "oms-sim (Cartegraph OMS):                 $OMS_URL"
echo "geo-sim (ArcGIS GeocodeServer):           $GEO_URL"

step "2. two hosts: spool roots, key pairs, configurations"
e2e_make_halves 10 10 30 600
echo "SCF half: $SCF_CFG"
echo "OMS half: $OMS_CFG"
sed -i "s|</scfgate>|<metrics><textfile>$work/scf-host/scfgate.prom</textfile></metrics></scfgate>|" "$SCF_CFG"
sed -i "s|</scfgate>|<metrics><textfile>$work/oms-host/scfgate.prom</textfile></metrics></scfgate>|" "$OMS_CFG"
echo "metrics: $work/scf-host/scfgate.prom and $work/oms-host/scfgate.prom"
# what Cartegraph holds before the gateway starts (the counters count from there)
att0=$(e2e_oms GET /_admin/state | jq '.records.cgRequests_cgAttachmentsClass | length')

# The SFTP variant: a local sshd stands for the DMZ host's, the OMS host
# runs `scfgate transfer` (its <transfer> section in oms.xml).
XFER_PID="" SSHD_PID=""
start_sftp_transfer() {
	local d=$work/sshd port i=0
	[ -x /usr/sbin/sshd ] || e2e_die "the transfer demo needs /usr/sbin/sshd (tools/run setup installs openssh-server)"
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -p -m 0755 /run/sshd; fi
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N '' -C demo-host -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -C demo-transfer -f "$work/oms-host/transfer_ed25519"
	cp "$work/oms-host/transfer_ed25519.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys" "$work/oms-host/transfer_ed25519"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $d/host_key" \
		"AuthorizedKeysFile $d/authorized_keys" "PidFile $d/sshd.pid" "StrictModes no" \
		"UsePAM no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
		"PubkeyAuthentication yes" "Subsystem sftp internal-sftp" "LogLevel ERROR" >"$d/sshd_config"
	/usr/sbin/sshd -D -e -f "$d/sshd_config" >"$work/logs/sshd.log" 2>&1 &
	SSHD_PID=$!
	E2E_PIDS="$E2E_PIDS $SSHD_PID"
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 50 ] || e2e_die "sshd does not listen (see $work/logs/sshd.log)"
		sleep 0.1
	done
	# the DMZ host's queues exist once its half started; the transfer
	# connects out from the OMS host, the host key pinned
	sed -i "s|</scfgate>|<transfer><host>127.0.0.1</host><port>$port</port><user>$(id -un)</user><privateKey>$work/oms-host/transfer_ed25519</privateKey><hostKeySha256>$(ssh-keygen -lf "$d/host_key.pub" | awk '{print $2}')</hostKeySha256><queue name=\"outbound\" direction=\"pull\" remoteDir=\"$SCF_ROOT/outbound\" intervalSeconds=\"1\"/><queue name=\"inbound\" direction=\"push\" remoteDir=\"$SCF_ROOT/inbound\" intervalSeconds=\"1\"/></transfer></scfgate>|" "$OMS_CFG"
	"$E2E_GATE" config check "$OMS_CFG" >/dev/null || e2e_die "oms.xml with <transfer> does not check"
	"$E2E_GATE" transfer --config "$OMS_CFG" >>"$work/logs/transfer.log" 2>&1 &
	XFER_PID=$!
	E2E_PIDS="$E2E_PIDS $XFER_PID"
	echo "sshd on 127.0.0.1:$port (pid $SSHD_PID) for the SCF host; scfgate transfer (pid $XFER_PID) on the OMS host"
}

if [ "$mode" = transfer ]; then
	step "3. the two halves as daemons, and scfgate transfer over SFTP"
else
	step "3. the two halves as daemons, and the file-copy transport"
fi
e2e_start_half scf
e2e_start_half oms
if [ "$mode" = transfer ]; then
	i=0
	while [ ! -d "$SCF_ROOT/inbound/tmp" ] || [ ! -d "$SCF_ROOT/outbound/new" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || e2e_die "the SCF half made no queues"
		sleep 0.1
	done
	start_sftp_transfer
	echo "scfgate scf (pid $SCF_HALF_PID), scfgate oms (pid $OMS_HALF_PID)"
else
	e2e_start_transport 0.5
	echo "scfgate scf (pid $SCF_HALF_PID), scfgate oms (pid $OMS_HALF_PID), transport (pid $E2E_TRANSPORT_PID)"
fi
t0=$(date +%s)
e2e_wait_for 30 count_synced 1 || e2e_die "no request reached Cartegraph in 30 s (see $work/logs)"
sleep 3
e2e_dump
first=$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" | wc -l)
echo "after $(($(date +%s) - t0)) s: $first of the organization's Open reports are Cartegraph requests"

step "4. residents report and comment"
new_ids=""
for spec in "9101:Deep pothole in front of the library" "9103:Street light out on Elm St" \
	"9102:Graffiti on the bus shelter" "9105:Ice on the sidewalk by the school"; do
	id=$(e2e_new_issue "${spec%%:*}" "${spec#*:}" true)
	new_ids="$new_ids $id"
	echo "new report $id (request type ${spec%%:*}): ${spec#*:}"
done
comment_ids="" crew_oid=""
for line in $("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $1":"$2}' | head -3); do
	if [ -z "$crew_oid" ]; then
		# A crew writes in the request's notes while the resident comments:
		# the gateway appends comments to CommentsField, never to the notes.
		crew_oid=${line%%:*}
		e2e_oms POST "/_admin/requests/$crew_oid/note" '{"text": "Crew: cones placed", "by": "crew"}' >/dev/null
		echo "crew note on request $crew_oid: Crew: cones placed"
	fi
	cid=$(e2e_comment "${line#*:}" "Still there this morning, please hurry" true)
	comment_ids="$comment_ids $cid"
	echo "resident comment $cid (with a photo) on issue ${line#*:}"
done
want=$((first + 3))
e2e_wait_for 40 count_synced "$want" || echo "(not every new report arrived yet)"
for cid in $comment_ids; do
	e2e_wait_for 20 notes_have "$cid" || echo "(comment $cid not in Cartegraph yet)"
done
if [ -n "$crew_oid" ]; then
	rq=$(e2e_oms GET "/_admin/requests/$crew_oid")
	case $rq in
	*'"NotesField":"Crew: cones placed"'*) echo "request $crew_oid: the crew's note is intact in NotesField; the resident's comment is in CommentsField" ;;
	*) echo "request $crew_oid: NotesField is not the crew's note alone: $rq" ;;
	esac
fi
echo "after $(($(date +%s) - t0)) s: $("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" | wc -l) requests; the Snow/Ice report is not mapped and stays in SeeClickFix"

step "5. crews close requests in Cartegraph"
closed=0
for oid in $("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" open | awk '{print $1}' | head -5); do
	e2e_close_request "$oid" "Done by crew 7"
	closed=$((closed + 1))
	echo "crew closed request Oid $oid"
done
e2e_wait_for 40 count_scf_closed_by_gateway "$closed" || echo "(not every closing reached SeeClickFix yet)"
echo "after $(($(date +%s) - t0)) s"

step "6. stop (SIGTERM: each half finishes the record in hand)"
e2e_stop_half scf
e2e_stop_half oms
e2e_stop_transport
if [ -n "$XFER_PID" ]; then
	kill -TERM "$XFER_PID" 2>/dev/null
	wait "$XFER_PID" 2>/dev/null || true
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null || true
	echo "scfgate transfer: $(grep -c 'event=transfer_pass' "$work/logs/transfer.log") passes; last: $(grep 'event=transfer_pass' "$work/logs/transfer.log" | tail -2 | sed 's/.*event=transfer_pass //' | tr '\n' ';')"
fi
e2e_dump

step "summary"
"$E2E_TOOL" summary "$work/state/scf.json" "$work/state/oms.json" "$E2E_EXT_FIELD"
unmapped=$(tail -1 "$work/logs/scf-half.json" 2>/dev/null | sed -n 's/.*"skipped_unmapped":\([0-9]*\).*/\1/p' || true)
n_unmapped=$("$E2E_TOOL" issues "$work/state/scf.json" | awk '$3 == 9105' | wc -l)
echo "reports of unmapped types left in SeeClickFix: $n_unmapped (the SCF half counted ${unmapped:-?} skips over its passes)"
echo
geo_rows() {
	jq -r --arg ext "$E2E_EXT_FIELD" --arg note "$E2E_GEO_FIELD" '
		.records[.class // "cgRequestsClass"][] | select(.[$ext] != null) |
		"\(.[$ext])\t\(.LocationDescriptionField // "-")\t\(.[$note] // "-")"' \
		"$work/state/oms.json"
}
if command -v jq >/dev/null; then
	n_verified=$(geo_rows | grep -c $'\tAddress verified by ArcGIS') || true
	echo "addresses checked by the ArcGIS geocoder: $n_verified of $(geo_rows | wc -l) requests verified; a few:"
	geo_rows | head -5 | while IFS=$'\t' read -r issue loc note; do
		case $note in
		"Address verified by ArcGIS"*) how=verified ;;
		*) how=reported ;;
		esac
		printf '  issue %s: %-8s %s\n      %s\n' "$issue" "$how" "$loc" "$note"
	done
else
	# without jq, from the OMS half's log line per check
	echo "addresses checked by the ArcGIS geocoder (from the OMS half's log; jq shows Cartegraph's fields):"
	grep -h 'geo: effect=' "$work/logs/oms-half.log" | head -5 |
		sed 's/.*geo: effect=\([a-z-]*\) issue=\([0-9]*\).*reason="\([^"]*\)" address="\([^"]*\)".*/  issue \2: \1 \4 (\3)/'
fi
echo
echo "records per queue (new = waiting, done = applied or handed over):"
for h in scf oms; do
	if [ $h = scf ]; then root=$SCF_ROOT; else root=$OMS_ROOT; fi
	for q in outbound inbound; do
		printf '  %s host %-8s new %s  done %s  failed %s  hold %s\n' "$h" "$q" \
			"$(e2e_records "$root" $q new)" "$(e2e_records "$root" $q done)" \
			"$(e2e_records "$root" $q failed)" "$(e2e_records "$root" $q hold)"
	done
done
failed=$( (e2e_failed_reasons "$SCF_ROOT" inbound; e2e_failed_reasons "$SCF_ROOT" outbound
	e2e_failed_reasons "$OMS_ROOT" outbound; e2e_failed_reasons "$OMS_ROOT" inbound) )
if [ -n "$failed" ]; then
	echo "failed records:"
	echo "$failed" | sed 's/^/  /'
else
	echo "failed records: none"
fi

step "scfgate status --config $SCF_CFG"
"$E2E_GATE" status --config "$SCF_CFG" || true
step "scfgate status --config $OMS_CFG"
"$E2E_GATE" status --config "$OMS_CFG" || true

step "metrics (counters against the simulators' own counts)"
mverdict=0
# msum FILE PREFIX: the sum of the samples whose line starts with PREFIX
msum() { grep -F -- "$2" "$1" | grep -v '^#' | awk '{s += $NF} END {printf "%d", s}'; }
mcheck() {
	if [ "$2" = "$3" ]; then
		printf '  ok    %s: %s\n' "$1" "$2"
	else
		printf '  WRONG %s: metrics %s, simulator %s\n' "$1" "$2" "$3"
		mverdict=1
	fi
}
api_calls='[.by_route | to_entries[] | select(.key | test("^admin|/_admin|^GET /(files|assets|rails)/") | not) | .value] | add // 0'
for h in scf oms; do
	f=$work/$h-host/scfgate.prom
	if [ ! -s "$f" ]; then
		echo "  WRONG $h half: no metrics file"
		mverdict=1
	elif command -v promtool >/dev/null; then
		if promtool check metrics <"$f" >/dev/null 2>&1; then
			echo "  ok    $h half: promtool check metrics accepts $f"
		else
			echo "  WRONG $h half: promtool check metrics: $(promtool check metrics <"$f" 2>&1 | head -3)"
			mverdict=1
		fi
	elif awk '/^#/ {next} !/^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/ {bad = 1} END {exit bad}' "$f"; then
		echo "  ok    $h half: every sample line of $f parses (promtool not installed)"
	else
		echo "  WRONG $h half: $f has lines that do not parse"
		mverdict=1
	fi
done
mo=$work/oms-host/scfgate.prom
ms=$work/scf-host/scfgate.prom
mcheck "requests created (issues applied) = gateway requests in Cartegraph" \
	"$(msum "$mo" 'scfgate_records_applied_total{kind="issue"}')" \
	"$("$E2E_TOOL" requests "$work/state/oms.json" "$E2E_EXT_FIELD" | wc -l)"
mcheck "photos applied = attachment records added in Cartegraph" \
	"$(msum "$mo" 'scfgate_records_applied_total{kind="attachment"}')" \
	"$(jq --argjson n "$att0" '(.records.cgRequests_cgAttachmentsClass | length) - $n' "$work/state/oms.json")"
mcheck "Cartegraph API calls = oms-sim's count" \
	"$(msum "$mo" 'scfgate_api_requests_total{service="cartegraph"')" \
	"$(e2e_oms GET /_admin/stats | jq "$api_calls")"
mcheck "SeeClickFix API calls = scf-sim's count" \
	"$(msum "$ms" 'scfgate_api_requests_total{service="seeclickfix"')" \
	"$(e2e_scf GET /_admin/stats | jq "$api_calls")"
mcheck "closings applied = issues the gateway closed in SeeClickFix" \
	"$(msum "$ms" 'scfgate_records_applied_total{kind="close"}')" \
	"$(grep -o '"via":"api","action":"close"' "$work/state/scf.json" | wc -l)"

step "check"
if e2e_oracle --min-closed "$closed" --min-photos 50 && [ "$mverdict" = 0 ]; then
	verdict=0
else
	verdict=1
fi
echo
echo "Everything is kept in $work:"
echo "  scf-host/ and oms-host/ (spool roots, keys, scf.xml, oms.xml), logs/, state/ (simulator dumps)"
exit $verdict
