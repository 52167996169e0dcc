#!/usr/bin/env bash
# e2e_ops: what an operator and systemd see of both halves, with real
# processes on the simulators.
#   - SIGTERM ends any wait within a second and the half exits 0: the SCF
#     half in a 429 with Retry-After 900, in the shared rate budget's hold
#     and in its poll interval; the OMS half in a 503 back-off and in its
#     poll interval.
#   - sd_notify: READY=1, STATUS=, WATCHDOG=1 (only for the WATCHDOG_PID
#     named), STOPPING=1 arrive on a socket this test listens on.
#   - journald: with JOURNAL_STREAM naming stderr each line carries its
#     syslog priority; without, none does.
#   - --log-json: every line is a JSON object with real fields; start and
#     stop lines; free text quoted and escaped.
#   - a quarantine in the SCF half is logged and counted in --once --json.
#   - SIGHUP: a broken configuration, or the other half's, is refused
#     with the reason, the half keeps working; a good one is taken (log
#     level, poll interval).
#   - SIGUSR1 in a 600 s poll interval: each half makes a pass within a
#     second (logged event=pass-now), and goes back to its interval.
set -uo pipefail
build=${1:?usage: ops.sh BUILD_DIR}
. "$(dirname "$0")/../../tools/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-e2e-ops.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup; [ -n "${SCFGATE_KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
check() { # check DESCRIPTION -- COMMAND...
	local what=$1
	shift 2
	if "$@"; then ok "$what"; else bad "$what"; fi
}
command -v python3 >/dev/null || e2e_die "python3 is needed (tools/run setup installs it)"

# notify_listen NAME: a unix datagram socket at $work/NAME.sock whose
# messages go, one per line (newlines inside shown as '|'), to
# $work/NAME.msgs; NOTIFY_PID is the listener.
notify_listen() {
	local sock=$work/$1.sock
	rm -f "$sock"
	python3 - "$sock" "$work/$1.msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write(m.replace("\n", "|") + "\n")
PY
	NOTIFY_PID=$!
	E2E_PIDS="$E2E_PIDS $NOTIFY_PID"
	e2e_wait_until 10 "[ -S '$sock' ]" || e2e_die "the notify socket did not appear"
}

# stop_within PID MS WHAT: SIGTERM, then the process must be gone with
# exit 0 within MS milliseconds.
stop_within() {
	local pid=$1 limit=$2 what=$3 t0 t1 rc i
	t0=$(date +%s%N)
	kill -TERM "$pid"
	for i in $(seq 1 $((limit / 50 + 40))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		bad "$what: still running $((limit / 1000 + 2)) s after SIGTERM"
		kill -KILL "$pid"
		wait "$pid"
		return
	fi
	wait "$pid"
	rc=$?
	t1=$(date +%s%N)
	local ms=$(((t1 - t0) / 1000000))
	if [ "$rc" = 0 ] && [ "$ms" -le "$limit" ]; then
		ok "$what: exit 0 ${ms} ms after SIGTERM"
	else
		bad "$what: exit $rc ${ms} ms after SIGTERM (wanted 0 within $limit ms)"
	fi
}

# pass_within PID MS WHAT PATTERN FILE: SIGUSR1 (pass now), then one more
# line matching PATTERN in FILE within MS milliseconds.
pass_within() {
	local pid=$1 limit=$2 what=$3 pat=$4 file=$5 n t0 ms
	n=$(grep -c -- "$pat" "$file")
	t0=$(date +%s%N)
	kill -USR1 "$pid"
	while :; do
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$(grep -c -- "$pat" "$file")" -gt "$n" ] && break
		if [ "$ms" -gt "$limit" ]; then
			bad "$what: no pass within $limit ms of SIGUSR1"
			return
		fi
		sleep 0.02
	done
	ok "$what: a pass ${ms} ms after SIGUSR1"
}

e2e_start_sims 5
e2e_make_halves 600 600 3 3600
e2e_oms_backoff 50 # the 503s below are given up in 0.35 s, not 3.5 s

# ---- SCF half: a 429 with Retry-After: 900 -------------------------------
e2e_scf POST /_admin/rate-limit '{"per_minute": 1, "window_seconds": 900}' >/dev/null
log=$work/logs/scf-429.log
"$E2E_GATE" scf --config "$SCF_CFG" 2>"$log" &
pid=$!
e2e_wait_until 20 "grep -q 'status=429 .*wait_ms=9[0-9][0-9][0-9][0-9][0-9]' '$log'" ||
	bad "no 429 with a long Retry-After: $(cat "$log")"
stop_within "$pid" 2000 "scf half waiting out Retry-After: 900"
check "the SCF half has a start line with version and configuration" -- \
	grep -q "info scf: event=start half=scf version=[0-9.]* config=\"$SCF_CFG\" pid=$pid" "$log"
check "the SCF half has a stop line with its counts" -- \
	grep -q "info scf: event=stop half=scf exit=0 issue_records=0 .* quarantined=0" "$log"
check "without JOURNAL_STREAM no line has a priority prefix" -- \
	test "$(grep -c '^<' "$log")" = 0

# The 429 put a hold on the credential's shared budget (state/scf/rate):
# the next start waits in the rate limiter before any call.
log=$work/logs/scf-hold.log
"$E2E_GATE" scf --config "$SCF_CFG" 2>"$log" &
pid=$!
sleep 1.5
check "in the budget's hold the SCF half waits and makes no call" -- \
	test "$(grep -c 'event=profile\|status=' "$log")" = 0
stop_within "$pid" 2000 "scf half waiting in the shared rate budget's hold"
rm -f "$SCF_ROOT/state/scf/rate"
e2e_scf POST /_admin/rate-limit '{"reset": true, "per_minute": 0}' >/dev/null

# ---- SCF half under systemd: notify, watchdog, journald, poll interval ---
notify_listen scf
log=$work/logs/scf-journal.log
: >"$log"
(
	export NOTIFY_SOCKET=$work/scf.sock WATCHDOG_USEC=400000
	exec "$E2E_GATE" scf --config "$SCF_CFG" 2>>"$log"
) &
pid=$!
e2e_wait_until 30 "grep -q '^STATUS=.* | pass ok' '$work/scf.msgs'" ||
	bad "no STATUS=... | pass ok: $(cat "$work/scf.msgs")"
# SIGHUP in the poll interval: the configuration is read again and the
# next pass runs at once.
kill -HUP "$pid"
e2e_wait_until 20 "[ \$(grep -c '^STATUS=.* | pass ok' '$work/scf.msgs') -ge 2 ]" &&
	ok "after SIGHUP the SCF half reloads and makes its next pass" ||
	bad "no pass after SIGHUP: $(grep reload "$log")"
check "the SCF reload is logged" -- grep -q "info scf: event=reloaded config=\"$SCF_CFG\" level=info poll_seconds=600" "$log"
sleep 1.2 # in the 600 s poll interval now
# SIGUSR1 in the poll interval: a pass at once, the configuration kept.
pass_within "$pid" 1000 "scf half in its 600 s poll interval" '^STATUS=.* | pass ok' "$work/scf.msgs"
check "the pass asked for is logged" -- grep -q "info scf: event=pass-now half=scf" "$log"
check "a pass asked for is not a reload" -- test "$(grep -c 'event=reloaded' "$log")" = 1
sleep 1.2
stop_within "$pid" 2000 "scf half in its poll interval"
sleep 0.2
msgs=$work/scf.msgs
check "READY=1 with a STATUS= line after the start-up checks" -- grep -q '^READY=1|STATUS=started' "$msgs"
check "STATUS= after the pass gives the status verdict, then what the pass did" -- \
	grep -qE '^STATUS=(ok|ATTENTION): scf half[^|]* \| pass ok, [1-9][0-9]* committed' "$msgs"
check "WATCHDOG=1 at least every half of WATCHDOG_USEC (0.4 s) in the interval" -- \
	test "$(grep -c '^WATCHDOG=1$' "$msgs")" -ge 4
check "STOPPING=1 at stop" -- grep -q '^STOPPING=1$' "$msgs"
check "READY=1 comes before STOPPING=1" -- \
	test "$(grep -n '^READY=1' "$msgs" | cut -d: -f1)" -lt "$(grep -n '^STOPPING=1' "$msgs" | cut -d: -f1)"
kill "$NOTIFY_PID" 2>/dev/null

# JOURNAL_STREAM: the device and inode of stderr (a file here).
log=$work/logs/scf-journal2.log
: >"$log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$log") "$E2E_GATE" scf --once --config "$SCF_CFG" 2>>"$log" ||
	bad "scf --once under JOURNAL_STREAM failed"
check "with JOURNAL_STREAM every line starts with a syslog priority" -- \
	test "$(grep -vc '^<[13467]>20[0-9][0-9]-' "$log")" = 0
check "info lines carry <6>" -- grep -q '^<6>.* info scf: event=start ' "$log"
JOURNAL_STREAM=1:1 "$E2E_GATE" scf --once --config "$SCF_CFG" 2>"$work/logs/scf-journal3.log" ||
	bad "scf --once with another JOURNAL_STREAM failed"
check "JOURNAL_STREAM naming another stream: no prefix" -- \
	test "$(grep -c '^<' "$work/logs/scf-journal3.log")" = 0

# ---- OMS half: 503 back-off, --log-json ----------------------------------
e2e_transfer_once
n=$(e2e_records "$OMS_ROOT" outbound new)
[ "$n" -ge 1 ] || bad "no record to forward"
e2e_oms POST /_admin/faults '{"maintenance": true}' >/dev/null
log=$work/logs/oms-503.log
"$E2E_GATE" oms --config "$OMS_CFG" --log-json --retry-ms 600000 2>"$log" &
pid=$!
e2e_wait_until 30 "grep -q '\"effect\":\"retry\"' '$log'" || bad "no record back-off: $(tail -3 "$log")"
stop_within "$pid" 2000 "oms half in a 503 back-off"
python3 - "$log" "$OMS_CFG" <<'PY' && ok "--log-json: every line parses, with real fields" || bad "--log-json lines: $(head -5 "$log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines, "no line"
for o in lines:
    assert {"ts", "level", "ident"} <= o.keys(), o
    assert "=" not in o.get("msg", ""), o      # no pair left in the text
start = [o for o in lines if o.get("event") == "start"]
assert len(start) == 1 and start[0]["half"] == "oms" and start[0]["config"] == sys.argv[2], start
assert start[0]["version"] and isinstance(start[0]["pid"], int), start
stop = [o for o in lines if o.get("event") == "stop"]
assert len(stop) == 1 and stop[0]["exit"] == 0 and stop[0]["applied"] == 0, stop
assert stop[0]["waiting"] >= 1 and "quarantined" in stop[0], stop
retry = [o for o in lines if o.get("effect") == "retry"]
assert retry and isinstance(retry[0]["issue"], int) and retry[0]["record"].endswith("-scf.xml"), retry
# a reason with spaces and quotes: a field holding the whole text
assert " " in retry[0]["reason"] and "503" in retry[0]["reason"], retry
assert lines[-1] is stop[0], "the stop line is the last"
PY
check "--log-json: free text with quotes is escaped, not cut" -- \
	python3 -c 'import json,sys; rs=[json.loads(l).get("reason","") for l in open(sys.argv[1])]; sys.exit(0 if any(chr(34) in r for r in rs) else 1)' "$log"

# ---- OMS half: SIGHUP, watchdog for another pid, poll interval -----------
# It starts at log level warn; a broken configuration is refused (an
# error line) and the half goes on applying records; the good one at
# level info is taken: info lines appear from then on.
notify_listen oms
cp "$OMS_CFG" "$work/oms-good.xml"
sed 's|<log level="info"/>|<log level="warn"/>|' "$work/oms-good.xml" >"$OMS_CFG"
log=$work/logs/oms-reload.log
(
	export NOTIFY_SOCKET=$work/oms.sock WATCHDOG_USEC=400000 WATCHDOG_PID=1
	exec "$E2E_GATE" oms --config "$OMS_CFG" --retry-ms 500 2>"$log"
) &
pid=$!
e2e_wait_until 20 "grep -q 'effect=retry' '$log'" || bad "no retry in maintenance"
printf '<scfgate half="oms" version="1"><spool>\n' >"$OMS_CFG" # broken
kill -HUP "$pid"
e2e_wait_until 10 "grep -q 'event=reload-refused' '$log'" || true
grep -q "error oms: event=reload-refused config=\"$OMS_CFG\" why=\"[^\"]*$(basename "$OMS_CFG"):[0-9]*: not well-formed" "$log" &&
	ok "a broken configuration is refused with the reason logged" ||
	bad "a broken configuration is refused with the reason logged: $(grep reload "$log")"
check "the half goes on after a refused reload" -- kill -0 "$pid"
e2e_oms POST /_admin/faults '{"maintenance": false}' >/dev/null
e2e_wait_until 30 "[ \$(e2e_records '$OMS_ROOT' inbound new) -ge $n ] && [ \$(e2e_records '$OMS_ROOT' outbound new) = 0 ]" &&
	ok "records are applied with the old configuration after the refusal" ||
	bad "records not applied after the refused reload: $(tail -3 "$log")"
check "the old log level (warn) still applies: no info line" -- test "$(grep -c ' info oms: ' "$log")" = 0
# the other half's configuration: refused by its root, the half goes on
# (under ASan a use of the refused configuration after its free aborts)
cp "$SCF_CFG" "$OMS_CFG"
kill -HUP "$pid"
e2e_wait_until 10 "[ \$(grep -c 'event=reload-refused' '$log') -ge 2 ]" || true
grep -q "error oms: event=reload-refused config=\"$OMS_CFG\" why=\"a configuration for the other half\"" "$log" &&
	ok "the other half's configuration is refused with the reason logged" ||
	bad "the other half's configuration is refused: $(grep reload "$log")"
check "the half goes on after the other half's configuration" -- kill -0 "$pid"
cp "$work/oms-good.xml" "$OMS_CFG"
kill -HUP "$pid"
e2e_wait_until 10 "grep -q 'event=reloaded' '$log'" || true
check "a good configuration is taken: level info, its poll interval" -- \
	grep -q "info oms: event=reloaded config=\"$OMS_CFG\" level=info poll_seconds=600" "$log"
e2e_wait_until 10 "grep -q 'info oms: effect=poll ' '$log'" &&
	ok "info lines after the reload" || bad "no info line after the reload"
sleep 1.2 # idle: in the poll interval
pass_within "$pid" 1000 "oms half in its 600 s poll interval" 'info oms: effect=poll ' "$log"
check "the OMS pass asked for is logged" -- grep -q "info oms: event=pass-now half=oms" "$log"
sleep 1.2
stop_within "$pid" 2000 "oms half in its poll interval"
check "the OMS stop line counts the records applied before the reload" -- \
	grep -q "info oms: event=stop half=oms exit=0 applied=$n " "$log"
sleep 0.2
check "READY=1 for the OMS half" -- grep -q '^READY=1|STATUS=' "$work/oms.msgs"
check "STATUS= of an OMS pass: the verdict, then the pass" -- \
	grep -qE '^STATUS=(ok|ATTENTION): oms half[^|]* \| pass ok, [0-9]* applied' "$work/oms.msgs"
check "no WATCHDOG=1 when WATCHDOG_PID names another process" -- \
	test "$(grep -c '^WATCHDOG=1' "$work/oms.msgs")" = 0
check "STOPPING=1 for the OMS half" -- grep -q '^STOPPING=1$' "$work/oms.msgs"

# ---- SCF half: a quarantine is logged and counted in --once --json --------
last=$(ls "$OMS_ROOT/inbound/new" | grep '\.xml$' | tail -1)
m=${last%%-oms.xml}
m=$((10#$m))
forged=$(printf '%020d-oms.xml' $((m + 1)))
sed -e "s|<seq>$m</seq>|<seq>$((m + 1))</seq>|" "$OMS_ROOT/inbound/new/$last" >"$work/transport/$forged"
e2e_transfer_once
touch -d '-1 minute' "$work/transport/$forged"
mv "$work/transport/$forged" "$SCF_ROOT/inbound/new/$forged"
log=$work/logs/scf-quarantine.log
"$E2E_GATE" scf --once --json --config "$SCF_CFG" 2>"$log" >"$work/scf-once.json" ||
	bad "scf --once with a forged inbound record failed: $(tail -2 "$log")"
[ -e "$SCF_ROOT/inbound/failed/$forged" ] || bad "the forged inbound record was not quarantined"
check "the SCF half logs the quarantine with queue, record and reason" -- \
	grep -q "warn scf: event=quarantined queue=inbound record=$forged failed=$forged why=\".*signature" "$log"
check "the SCF half's --once --json counts the quarantine" -- grep -q '"quarantined":1}' "$work/scf-once.json"
check "and its stop line too" -- grep -q "event=stop half=scf exit=0 .* quarantined=1$" "$log"

echo "$fails failed"
[ "$fails" = 0 ]
