# tools/e2e/lib.sh: shell helpers shared by tools/demo-e2e.sh, the
# end-to-end tests (tests/e2e/) and the latency benchmark.  Source it, then
# call e2e_init BUILD_DIR WORK_DIR.
#
# The set-up is the one a city runs, on one machine:
#   WORK/scf-host/   spool root, keys, config of the SCF half (scf.xml)
#   WORK/oms-host/   the same for the OMS half (oms.xml)
#   WORK/transport/  the file-copy transport's staging area
#   WORK/logs/       one log per process
# The two halves share no directory: records move only through
# e2e_transfer_once (copy to a temporary name, rename into new/).
#
# Variables after the calls: E2E_GATE E2E_TOOL (binaries), SCF_PORT
# OMS_PORT SCF_URL OMS_URL (simulators), SCF_CFG OMS_CFG SCF_ROOT OMS_ROOT,
# E2E_PIDS (every background process started, for e2e_cleanup).
#
# With E2E_GEO=1 before e2e_start_sims, geo-sim (an ArcGIS GeocodeServer)
# starts too (GEO_PORT GEO_URL) and the OMS configuration gets a
# <geocoder> section that writes its note into $E2E_GEO_FIELD.
#
# E2E_COMMENTS (before e2e_make_halves) picks the OMS half's comment route:
# field (the default), child (one $E2E_COMMENT_CLASS record each, text in
# $E2E_COMMENT_FIELD; oms-sim always has that class) or notes; e2e_oracle
# checks the comments where that route puts them.

E2E_EXT_FIELD=SCFIssueIDField
E2E_TYPES=9101,9102,9103,9104 # 9105 (Snow/Ice) stays unmapped on purpose
E2E_ACK='Thank you. Your report is now city work request {request_id}.'
E2E_CLOSING='Work request {request_id} ({request_type}) is complete. Thank you.'
E2E_CLOSING_9101='The pothole was filled under work request {request_id}.'
E2E_CLOSING_9103='A crew replaced the lamp (work request {request_id}).'
E2E_ACK_9102='Thank you. The graffiti crew has work request {request_id} ({request_type}).'
E2E_GEO_FIELD=GeocodeNoteField
E2E_GEO_PREFIX=/arcgis/rest/services/Locators/City/GeocodeServer
E2E_COMMENTS=${E2E_COMMENTS:-field}
E2E_COMMENT_CLASS=cgRequests_cgCommentsClass
E2E_COMMENT_FIELD=CommentField
E2E_PIDS=""

# The tests' TAP-style lines: `ok - WHAT`, `not ok - WHAT` (counted in
# $fails, which a test turns into its exit status), and check WHAT CMD...
# (ok when CMD succeeds).  A test may define its own check after sourcing.
fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

e2e_die() {
	echo "e2e: $*" >&2
	exit 1
}

e2e_init() {
	local build=$1
	E2E_WORK=$2
	E2E_BUILD=$(cd "$build" && pwd) || e2e_die "no build directory $build"
	E2E_GATE=$E2E_BUILD/scfgate
	E2E_TOOL=$E2E_BUILD/tools/e2e/e2e-tool
	E2E_SCF_SIM=$E2E_BUILD/tools/sim/scf-sim
	E2E_OMS_SIM=$E2E_BUILD/tools/sim/oms-sim
	E2E_GEO_SIM=$E2E_BUILD/tools/geo-sim/geo-sim
	local b
	for b in "$E2E_GATE" "$E2E_TOOL" "$E2E_SCF_SIM" "$E2E_OMS_SIM"; do
		[ -x "$b" ] || e2e_die "$b is not built"
	done
	mkdir -p "$E2E_WORK/logs" "$E2E_WORK/transport" "$E2E_WORK/state"
}

# e2e_start_sim NAME BINARY ARGS...: start a simulator on a free port;
# sets <NAME>_PORT and <NAME>_PID (NAME is SCF, OMS or GEO).
e2e_start_sim() {
	local name=$1 bin=$2 out port="" i
	shift 2
	out=$E2E_WORK/logs/$name-sim.out
	# Made here, not by the child's redirect: the loop below may read it
	# before the child has run, and a missing file would stop `set -e`.
	: >"$out"
	"$bin" --port 0 "$@" >"$out" 2>"$E2E_WORK/logs/$name-sim.log" &
	local pid=$!
	E2E_PIDS="$E2E_PIDS $pid"
	for i in $(seq 1 100); do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out" 2>/dev/null | head -1 || true)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || e2e_die "$name simulator exited: $(tail -3 "$E2E_WORK/logs/$name-sim.log")"
		sleep 0.1
	done
	[ -n "$port" ] || e2e_die "$name simulator did not say which port it listens on"
	eval "${name}_PORT=$port ${name}_PID=$pid"
}

# e2e_start_sims [SCF_ISSUES] [extra scf-sim args...]: most seeded reports
# carry a photo (E2E_PHOTO_PERCENT, default 80), as most real ones do; the
# OMS simulator is the strict one, with only the external id field added.
e2e_start_sims() {
	local issues=${1:-25}
	shift || true
	e2e_start_sim SCF "$E2E_SCF_SIM" --issues "$issues" --org 1102 --rate-limit 0 \
		--photo-percent "${E2E_PHOTO_PERCENT:-80}" "$@"
	if [ -n "${E2E_GEO:-}" ]; then
		[ -x "$E2E_GEO_SIM" ] || e2e_die "$E2E_GEO_SIM is not built"
		e2e_start_sim GEO "$E2E_GEO_SIM" --seed 1
		GEO_URL=http://127.0.0.1:$GEO_PORT$E2E_GEO_PREFIX
		e2e_start_sim OMS "$E2E_OMS_SIM" --extra-fields "$E2E_EXT_FIELD,$E2E_GEO_FIELD" \
			--requests 3 --comment-class "$E2E_COMMENT_CLASS:$E2E_COMMENT_FIELD"
	else
		GEO_URL=""
		e2e_start_sim OMS "$E2E_OMS_SIM" --extra-fields "$E2E_EXT_FIELD" --requests 3 \
			--comment-class "$E2E_COMMENT_CLASS:$E2E_COMMENT_FIELD"
	fi
	SCF_URL=http://127.0.0.1:$SCF_PORT
	OMS_URL=http://127.0.0.1:$OMS_PORT
}

# The <comments> element for $E2E_COMMENTS.
e2e_comments() {
	case $E2E_COMMENTS in
	field) echo '    <comments route="field"/>' ;;
	notes) echo '    <comments route="notes"/>' ;;
	child) echo "    <comments route=\"child\" class=\"$E2E_COMMENT_CLASS\" textField=\"$E2E_COMMENT_FIELD\"/>" ;;
	*) e2e_die "E2E_COMMENTS=$E2E_COMMENTS: field, child or notes" ;;
	esac
}

# The oracle's --comments for $E2E_COMMENTS.
e2e_comments_arg() {
	if [ "$E2E_COMMENTS" = child ]; then echo "child:$E2E_COMMENT_FIELD"; else echo "$E2E_COMMENTS"; fi
}

# The <geocoder> section when geo-sim runs: find the typed address near the
# point, else the nearest address; the note goes into its own field.
e2e_geocoder() {
	[ -n "${GEO_URL:-}" ] || return 0
	cat <<EOF
  <geocoder>
    <baseUrl>$GEO_URL</baseUrl>
    <mode>both</mode>
    <timeoutMilliseconds>2000</timeoutMilliseconds>
    <resultField>$E2E_GEO_FIELD</resultField>
  </geocoder>
EOF
}

e2e_request_types() {
	cat <<EOF
  <requestTypes>
    <requestType id="9101" title="Pothole" remoteId="Pothole">
      <closingMessage>$E2E_CLOSING_9101</closingMessage>
    </requestType>
    <requestType id="9102" title="Graffiti" remoteId="Graffiti">
      <acknowledgmentMessage>$E2E_ACK_9102</acknowledgmentMessage>
    </requestType>
    <requestType id="9103" title="Streetlight Out" remoteId="Street Light">
      <closingMessage>$E2E_CLOSING_9103</closingMessage>
    </requestType>
    <requestType id="9104" title="Garbage Cart" remoteId="Garbage Cart"/>
  </requestTypes>
EOF
}

# e2e_make_halves SCF_POLL OMS_POLL [GRACE] [GAP_ALARM]: keys, credential
# files, spool roots and both configurations.
e2e_make_halves() {
	local scf_poll=${1:-10} oms_poll=${2:-10} grace=${3:-30} alarm=${4:-3600} h
	for h in scf oms; do
		mkdir -p "$E2E_WORK/$h-host/spool" "$E2E_WORK/$h-host/keys"
		"$E2E_GATE" keygen --dir "$E2E_WORK/$h-host/keys" --name "$h" >/dev/null ||
			e2e_die "keygen failed"
	done
	# Only the public keys cross over.
	cp "$E2E_WORK/scf-host/keys/scf.pub" "$E2E_WORK/oms-host/keys/"
	cp "$E2E_WORK/oms-host/keys/oms.pub" "$E2E_WORK/scf-host/keys/"
	(umask 077 && printf 'scf-sim-token\n' >"$E2E_WORK/scf-host/keys/scf.token")
	(umask 077 && printf 'scfgate:scfgate-pass\n' >"$E2E_WORK/oms-host/keys/cartegraph.cred")
	SCF_ROOT=$E2E_WORK/scf-host/spool
	OMS_ROOT=$E2E_WORK/oms-host/spool
	SCF_CFG=$E2E_WORK/scf-host/scf.xml
	OMS_CFG=$E2E_WORK/oms-host/oms.xml
	cat >"$SCF_CFG" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="scf" version="1">
  <spool>
    <root>$SCF_ROOT</root>
    <producer>scf</producer>
    <privateKey>$E2E_WORK/scf-host/keys/scf.key</privateKey>
    <peerPublicKey>$E2E_WORK/scf-host/keys/oms.pub</peerPublicKey>
    <graceSeconds>$grace</graceSeconds>
    <gapAlarmSeconds>$alarm</gapAlarmSeconds>
  </spool>
  <scf>
    <baseUrl>$SCF_URL/api/v2</baseUrl>
    <organization>1102</organization>
    <credentials auth="bearer">$E2E_WORK/scf-host/keys/scf.token</credentials>
    <pollSeconds>$scf_poll</pollSeconds>
    <overlapSeconds>120</overlapSeconds>
    <ratePerMinute>600</ratePerMinute>
    <systemComments forward="">
      <account>7000001</account>
    </systemComments>
  </scf>
$(e2e_request_types)
  <messages>
    <acknowledgment>$E2E_ACK</acknowledgment>
    <closing>$E2E_CLOSING</closing>
  </messages>
  <log level="info"/>
</scfgate>
EOF
	cat >"$OMS_CFG" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="oms" version="1">
  <spool>
    <root>$OMS_ROOT</root>
    <producer>oms</producer>
    <privateKey>$E2E_WORK/oms-host/keys/oms.key</privateKey>
    <peerPublicKey>$E2E_WORK/oms-host/keys/scf.pub</peerPublicKey>
    <graceSeconds>$grace</graceSeconds>
    <gapAlarmSeconds>$alarm</gapAlarmSeconds>
  </spool>
  <cartegraph>
    <baseUrl>$OMS_URL</baseUrl>
    <credentials auth="basic">$E2E_WORK/oms-host/keys/cartegraph.cred</credentials>
    <pollSeconds>$oms_poll</pollSeconds>
    <fields>
      <externalId field="$E2E_EXT_FIELD"/>
    </fields>
$(e2e_comments)
  </cartegraph>
$(e2e_geocoder)
$(e2e_request_types)
  <log level="info"/>
</scfgate>
EOF
	local c
	for c in "$SCF_CFG" "$OMS_CFG"; do
		"$E2E_GATE" config check "$c" >/dev/null 2>&1 ||
			e2e_die "$("$E2E_GATE" config check "$c" 2>&1 | tail -1)"
	done
	local q
	for q in outbound inbound; do
		mkdir -p "$SCF_ROOT/$q/new" "$OMS_ROOT/$q/new"
	done
}

# e2e_oms_backoff MS: the OMS half's HTTP back-off (<backoffMilliseconds>)
# in its configuration, for tests of outages: each call that meets a 503
# is given up after waits of up to MS, 2 MS and 4 MS instead of 0.5, 1
# and 2 s.
e2e_oms_backoff() {
	sed -i "s|</pollSeconds>|</pollSeconds>\n    <backoffMilliseconds>$1</backoffMilliseconds>|" "$OMS_CFG"
	grep -q "<backoffMilliseconds>$1<" "$OMS_CFG" || e2e_die "could not set the back-off in $OMS_CFG"
}

# e2e_deliver FILE DEST_ROOT QUEUE [NAME]: one file into the receiver's
# new/ (as NAME, default the file's own name), copied under a temporary
# name first, so the receiver never sees a torn file.  Never replaces a
# file already there.
e2e_deliver() {
	local f=$1 root=$2 q=$3 name=${4:-} stage
	[ -n "$name" ] || name=$(basename "$f")
	stage=$E2E_WORK/transport/.$name.$$
	mkdir -p "$root/$q/new"
	cp "$f" "$stage" || return 1
	mv -n "$stage" "$root/$q/new/$name"
	rm -f "$stage"
}

# e2e_transfer_once: move what each half committed to the other half.
# A sent file goes into the sender's done/ (kept for replay and bundles).
e2e_transfer_once() {
	local f
	for f in "$SCF_ROOT"/outbound/new/*.xml; do
		[ -e "$f" ] || continue
		e2e_deliver "$f" "$OMS_ROOT" outbound &&
			mkdir -p "$SCF_ROOT/outbound/done" && mv -f "$f" "$SCF_ROOT/outbound/done/"
	done
	for f in "$OMS_ROOT"/inbound/new/*.xml; do
		[ -e "$f" ] || continue
		e2e_deliver "$f" "$SCF_ROOT" inbound &&
			mkdir -p "$OMS_ROOT/inbound/done" && mv -f "$f" "$OMS_ROOT/inbound/done/"
	done
}

# e2e_start_transport [INTERVAL]: the loop in the background.
e2e_start_transport() {
	local every=${1:-0.5}
	(
		trap 'exit 0' TERM
		while :; do
			e2e_transfer_once 2>>"$E2E_WORK/logs/transport.log"
			sleep "$every"
		done
	) &
	E2E_TRANSPORT_PID=$!
	E2E_PIDS="$E2E_PIDS $E2E_TRANSPORT_PID"
}

e2e_stop_transport() {
	[ -n "${E2E_TRANSPORT_PID:-}" ] || return 0
	kill "$E2E_TRANSPORT_PID" 2>/dev/null
	wait "$E2E_TRANSPORT_PID" 2>/dev/null
	E2E_TRANSPORT_PID=""
}

# e2e_start_half scf|oms [args...]: the daemon; sets SCF_HALF_PID / OMS_HALF_PID.
e2e_start_half() {
	local h=$1 cfg pid
	shift
	if [ "$h" = scf ]; then cfg=$SCF_CFG; else cfg=$OMS_CFG; fi
	"$E2E_GATE" "$h" --config "$cfg" --json "$@" \
		>>"$E2E_WORK/logs/$h-half.json" 2>>"$E2E_WORK/logs/$h-half.log" &
	pid=$!
	E2E_PIDS="$E2E_PIDS $pid"
	if [ "$h" = scf ]; then SCF_HALF_PID=$pid; else OMS_HALF_PID=$pid; fi
}

# e2e_stop_half scf|oms: SIGTERM, wait (the half finishes its record).
e2e_stop_half() {
	local pid
	if [ "$1" = scf ]; then pid=${SCF_HALF_PID:-}; else pid=${OMS_HALF_PID:-}; fi
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$1" = scf ]; then SCF_HALF_PID=""; else OMS_HALF_PID=""; fi
}

# e2e_kill_half scf|oms: SIGKILL (a crash), wait.
e2e_kill_half() {
	local pid
	if [ "$1" = scf ]; then pid=${SCF_HALF_PID:-}; else pid=${OMS_HALF_PID:-}; fi
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$1" = scf ]; then SCF_HALF_PID=""; else OMS_HALF_PID=""; fi
}

# Admin calls as residents, crews and testers.
e2e_scf() { "$E2E_TOOL" http "$1" "$SCF_URL$2" ${3+"$3"}; }
e2e_oms() { "$E2E_TOOL" http "$1" "$OMS_URL$2" ${3+"$3"}; }

# e2e_dump: both simulators' states into WORK/state/{scf,oms}.json.
e2e_dump() {
	e2e_scf GET /_admin/state >"$E2E_WORK/state/scf.json" || return 1
	e2e_oms GET /_admin/state >"$E2E_WORK/state/oms.json" || return 1
}

# e2e_new_issue TYPE_ID DESCRIPTION: a resident reports; prints the id.
e2e_new_issue() {
	e2e_scf POST /_admin/issues "{\"request_type_id\": $1, \"description\": \"$2\", \"photo\": ${3:-false}}" |
		sed -n 's/^{"id":[ ]*\([0-9]*\).*/\1/p'
}

# e2e_comment ISSUE TEXT [PHOTO]: a resident comments (PHOTO true: with a
# picture); prints the comment id.
e2e_comment() {
	e2e_scf POST "/_admin/issues/$1/comments" "{\"comment\": \"$2\", \"kind\": \"resident\", \"name\": \"Resident\", \"photo\": ${3:-false}}" |
		sed -n 's/^{"id":[ ]*\([0-9]*\).*/\1/p'
}

# e2e_close_request OID NOTE: a crew closes a request.
e2e_close_request() {
	e2e_oms POST "/_admin/requests/$1/close" "{\"note\": \"$2\", \"by\": \"crew\"}" >/dev/null
}

# e2e_oracle [extra oracle args...]: the exact end state over the dumps
# (requests, acknowledgments, closes, comments, every photo one linked
# attachment child record).
e2e_oracle() {
	"$E2E_TOOL" oracle --scf "$E2E_WORK/state/scf.json" --oms "$E2E_WORK/state/oms.json" \
		--ext "$E2E_EXT_FIELD" --types "$E2E_TYPES" --ack "$E2E_ACK" --closing "$E2E_CLOSING" \
		--type-closing "9101=$E2E_CLOSING_9101" --type-closing "9103=$E2E_CLOSING_9103" \
		--type-ack "9102=$E2E_ACK_9102" \
		--title 9101=Pothole --title 9102=Graffiti --title "9103=Streetlight Out" \
		--title "9104=Garbage Cart" --comments "$(e2e_comments_arg)" "$@"
}

# E2E_USEC after e2e_usec: the wall clock in microseconds (no process is
# started for it: the polls below run every 50 ms).
e2e_usec() { E2E_USEC=${EPOCHREALTIME/[.,]/}; }

# e2e_poll_nap T0: the pause after a try of a condition that began at T0
# (E2E_USEC): 50 ms, or as long as the try took when that was longer, so
# that a costly condition (a dump and an oracle) takes at most about half
# of one core from the processes it waits for.
e2e_poll_nap() {
	local took s
	e2e_usec
	took=$((E2E_USEC - $1))
	[ "$took" -gt 50000 ] || took=50000
	printf -v s '%d.%06d' $((took / 1000000)) $((took % 1000000))
	sleep "$s"
}

# e2e_wait_for SECONDS COMMAND...: poll until COMMAND succeeds (its
# arguments are expanded once, by the caller: to re-evaluate a $(...) on
# every try, pass it quoted to e2e_wait_until).  A wait that runs out says
# so on stderr: a condition that can never hold (a pipeline whose first
# command fails under pipefail, say) costs its whole limit every run.
e2e_wait_for() {
	e2e_poll_until "$1" 0 "${@:2}"
}

# e2e_poll_until SECONDS KICK COMMAND...: the loop of e2e_wait_for and
# e2e_wait_passes; with KICK > 0, e2e_pass_now before the first try and
# then every KICK seconds.
e2e_poll_until() {
	local limit=$1 deadline=$((EPOCHSECONDS + $1)) every=$2 kick=0 t0
	shift 2
	while :; do
		if [ "$every" -gt 0 ] && [ "$EPOCHSECONDS" -ge "$kick" ]; then
			e2e_pass_now
			kick=$((EPOCHSECONDS + every))
		fi
		e2e_usec
		t0=$E2E_USEC
		"$@" && return 0
		if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
			echo "e2e: waited ${limit} s in vain for: $*" >&2
			return 1
		fi
		e2e_poll_nap "$t0"
	done
}

# e2e_wait_until SECONDS 'SHELL CONDITION': the condition is eval'ed per try.
e2e_wait_until() {
	local limit=$1
	shift
	e2e_wait_for "$limit" eval "$1"
}

# e2e_pass_now [scf|oms]...: SIGUSR1 to the running daemons named (both
# when none): each starts its next pass (SCF fetch, OMS poll) at once
# instead of after its pollSeconds.  Only to a daemon that has logged its
# start line: before it takes the signal, SIGUSR1 would end it.
e2e_pass_now() {
	local h pid
	[ $# -gt 0 ] || set -- scf oms
	for h in "$@"; do
		if [ "$h" = scf ]; then pid=${SCF_HALF_PID:-}; else pid=${OMS_HALF_PID:-}; fi
		[ -n "$pid" ] || continue
		grep -q "event=start half=$h .* pid=$pid " "$E2E_WORK/logs/$h-half.log" 2>/dev/null || continue
		kill -USR1 "$pid" 2>/dev/null || true
	done
}

# e2e_wait_passes SECONDS COMMAND...: e2e_wait_for, asking both running
# daemons for a pass (e2e_pass_now) at the start and every 3 s of the
# wait: what needs a fetch or a poll (a new report, a comment, a closed
# request) is taken up without waiting out pollSeconds.
e2e_wait_passes() {
	e2e_poll_until "$1" 3 "${@:2}"
}

# e2e_age_health HOST_DIR SECONDS: the newest health record under HOST_DIR
# (the half's state; status reads only the newest) as if its passes had
# been made SECONDS earlier: every non-zero time in it moves back that far.
# Time passes for `scfgate status` so, instead of by sleeping, while no
# daemon runs (a daemon rewrites the record).
e2e_age_health() {
	local f
	f=$(find "$1" -name 'health.[0-9]*' -type f | sort | tail -1)
	[ -n "$f" ] || e2e_die "no health record under $1"
	perl -pi -e 'if (/^saved (\d+)$/) { $_ = "saved " . ($1 - '"$2"') . "\n" }
		elsif (/^kind /) { my @f = split / /; for my $i (2 .. 4) { $f[$i] -= '"$2"' if $f[$i] } $_ = join " ", @f }' "$f"
}

# e2e_records ROOT QUEUE DIR: record files in a sub-directory.
e2e_records() {
	local n
	n=$(ls "$1/$2/$3" 2>/dev/null | grep -c '\.xml$') || true
	echo "${n:-0}"
}

# e2e_failed_reasons ROOT QUEUE: "NAME: first line of .why" per failed record.
e2e_failed_reasons() {
	local f
	for f in "$1/$2/failed/"*; do
		[ -e "$f" ] || continue
		case $f in *.why | *.why.*) continue ;; esac
		printf '%s: %s\n' "$(basename "$f")" "$(head -1 "$f.why" 2>/dev/null || echo '(no .why)')"
	done
}

# e2e_running PID: the process runs (a zombie, which has ended and waits
# to be reaped, does not).
e2e_running() {
	local st
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# e2e_cleanup: stop every process started here (by pid), politely first:
# SIGKILL for what still runs 0.3 s after SIGTERM.
e2e_cleanup() {
	local p t0 left
	for p in $E2E_PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	e2e_usec
	t0=$E2E_USEC
	while e2e_usec && [ $((E2E_USEC - t0)) -lt 300000 ]; do
		left=""
		for p in $E2E_PIDS; do
			e2e_running "$p" && left=1 && break
		done
		[ -n "$left" ] || break
		sleep 0.02
	done
	for p in $E2E_PIDS; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	E2E_PIDS=""
}
