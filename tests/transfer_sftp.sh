#!/bin/sh
# transfer_sftp.sh SCFGATE SRCDIR: `scfgate transfer` against a real
# OpenSSH server (sshd with internal-sftp) started on a loopback port as
# the current user, with a throw-away host key and an authorized key.
#   - pull: every record of the remote outbound/new/ arrives in the local
#     outbound/new/ byte-identical, once, and is removed remotely; a FIFO,
#     a symbolic link, an oversized file, a hostile name (with a line
#     break) and a directory under record names are left alone and logged
#   - push: every record of the local inbound/new/ arrives in the remote
#     inbound/new/ byte-identical and is moved to the local sent/; nothing
#     is left in the remote tmp/
#   - a copy already in local new/ counts as a duplicate and is removed
#     remotely; another file under the same name keeps the remote one
#   - a wrong pinned host key (SHA-256 or known_hosts) is refused before
#     anything moves; the right one in a known_hosts file is accepted
#   - sent/ retention removes what was sent longer ago
#   - a one-way push (oneWay="true") lists nothing on the remote
#   - status shows the last pass per direction with its counts (text and
#     JSON); failing past failingAlarmSeconds, or no pass recorded for that
#     plus twice the interval, needs attention; the transfer's metrics go
#     to its own textfile (NAME-transfer.prom)
#   - an upload a killed transfer left in the remote tmp/ is removed once
#     older than an hour plus the timeout; a younger one, and names that
#     are not NAME.<pid>.part, stay
#   - the server killed (sshd and its sessions) in the middle of a daemon
#     pass and started again: the pass fails, is logged, the daemon goes
#     on, and a later pass moves the rest; every record once, whole
#   - kill -9 at random moments (TRANSFER_KILL_ROUNDS, default 10): never
#     a partial file under a record name, in the end every record exactly
#     once (a duplicate byte-identical), nothing lost
# Exit 77 (skipped) only when no sshd is installed; an sshd that does not
# start is a failure.
set -u
# the system interpreter: a wrapper in PATH may cost seconds per start
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SCFGATE=$1
SRC=$2
T=$(mktemp -d /tmp/scfgate-transfer.XXXXXX)
SSHD_PID=
fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/sshd.log" ] && sed 's/^/sshd: /' "$T/sshd.log" >&2
	[ -f "$T/log" ] && sed 's/^/transfer: /' "$T/log" >&2
	exit 1
}
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ]; then
	echo "SKIP: $SSHD not installed (tools/run setup installs openssh-server)" >&2
	exit 77
fi
. "$SRC/tests/sshd_lib.sh"
sshd_rundir

cd "$T" || exit 1
sshd_keys
cp user_key.pub authorized_keys && chmod 600 authorized_keys
FP=$(ssh-keygen -lf host_key.pub | awk '{print $2}')
BADFP=$(ssh-keygen -lf other_key.pub | awk '{print $2}')
USER_NAME=$(id -un)

sshd_config "Subsystem sftp internal-sftp"
kill_tree() { # SIGKILL a process and every process below it
	kill -STOP "$1" 2>/dev/null
	for c in $(ps -o pid= --ppid "$1"); do
		kill_tree "$c"
	done
	kill -9 "$1" 2>/dev/null
}
start_sshd

# the local spool (this host) and the remote queues (the peer's spool)
mkdir -p local remote/outbound/new remote/outbound/tmp remote/inbound/new remote/inbound/tmp
cp "$SRC/tests/data/keys/test-oms.key" oms.key && chmod 600 oms.key
echo "user:secret" >cg.cred && chmod 600 cg.cred

config() { # $1 = the pinned fingerprint, $2 = file
	cat >"$2" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="oms" version="1">
  <spool>
    <root>$T/local</root>
    <producer>oms</producer>
    <privateKey>$T/oms.key</privateKey>
    <peerPublicKey>$SRC/tests/data/keys/test-scf.pub</peerPublicKey>
  </spool>
  <cartegraph>
    <baseUrl>http://127.0.0.1:1/x</baseUrl>
    <credentials>$T/cg.cred</credentials>
  </cartegraph>
  <requestTypes>
    <requestType id="1" title="Pothole" remoteId="Pothole"/>
  </requestTypes>
  <transfer>
    <host>127.0.0.1</host>
    <port>$PORT</port>
    <user>$USER_NAME</user>
    <privateKey>$T/user_key</privateKey>
    <hostKeySha256>$1</hostKeySha256>
    <timeoutSeconds>10</timeoutSeconds>
    <queue name="outbound" direction="pull" remoteDir="$T/remote/outbound"/>
    <queue name="inbound" direction="push" remoteDir="$T/remote/inbound" sentRetentionDays="3"/>
  </transfer>
</scfgate>
EOF
}
config "$FP" good.xml
config "$BADFP" bad.xml
# the same pinned by a known_hosts file (port other than 22: [host]:port)
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 host_key.pub)" >known_good
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 other_key.pub)" >known_bad
sed "s|<hostKeySha256>.*</hostKeySha256>|<knownHosts>$T/known_good</knownHosts>|" good.xml >kh_good.xml
sed "s|<hostKeySha256>.*</hostKeySha256>|<knownHosts>$T/known_bad</knownHosts>|" good.xml >kh_bad.xml
"$SCFGATE" config check good.xml >/dev/null || fail "config check good.xml"

# remote outbound: 30 records of varied sizes and content, plus the traps
n=1
while [ $n -le 30 ]; do
	name=$(printf '%020d-scf.xml' $n)
	head -c $((n * 977 + 1)) /dev/urandom >"remote/outbound/new/$name"
	n=$((n + 1))
done
mkdir -p expect_out && cp remote/outbound/new/* expect_out/
mkfifo "remote/outbound/new/$(printf '%020d-scf.xml' 101)"
ln -s /etc/passwd "remote/outbound/new/$(printf '%020d-scf.xml' 102)"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero >"remote/outbound/new/$(printf '%020d-scf.xml' 103)"
mkdir "remote/outbound/new/$(printf '%020d-scf.xml' 104)"
hostile="junk
-rw-r--r--    1 u g 5 Dec  6 08:41 $(printf '%020d-scf.xml' 105)"
printf 'evil' >"remote/outbound/new/$hostile"
ln -s "$(printf '%020d-scf.xml' 105)" "remote/outbound/new/link"
# a forged line for a record that is not there at all
hostile2="junk2
-rw-r--r--    1 u g 5 Dec  6 08:41 $(printf '%020d-scf.xml' 106)"
printf 'evil' >"remote/outbound/new/$hostile2"
printf 'x' >"remote/outbound/new/notarecord.txt"
# a symbolic link whose listing line is over 1 KiB (a long target that
# still resolves), and a forged regular line for its name
printf 'secret' >remote/outbound/new/secret.txt
ln -s "$(i=0; while [ $i -lt 600 ]; do printf './'; i=$((i + 1)); done)secret.txt" \
	"remote/outbound/new/$(printf '%020d-scf.xml' 107)"
hostile3="junk3
-rw-r--r--    1 u g 6 Dec  6 08:41 $(printf '%020d-scf.xml' 107)"
printf 'evil' >"remote/outbound/new/$hostile3"
# the same record already here: a duplicate, removed remotely
mkdir -p local/outbound/new
cp "remote/outbound/new/$(printf '%020d-scf.xml' 7)" local/outbound/new/
# another file under a record's name waits here: the remote one stays
printf 'other bytes' >"local/outbound/new/$(printf '%020d-scf.xml' 8)"

# local inbound: 20 records to push
mkdir -p local/inbound/new expect_in
n=1
while [ $n -le 20 ]; do
	name=$(printf '%020d-oms.xml' $n)
	head -c $((n * 1531 + 3)) /dev/urandom >"local/inbound/new/$name"
	n=$((n + 1))
done
cp local/inbound/new/* expect_in/

# a wrong pinned host key: refused, nothing moves
"$SCFGATE" transfer --config bad.xml --once >"$T/log" 2>&1 && fail "a wrong host key was accepted"
grep -q "host key does not match the pinned key" "$T/log" || fail "no clear host key error"
[ "$(ls remote/inbound/new | wc -l)" -eq 0 ] || fail "pushed despite a wrong host key"
[ "$(ls local/outbound/new | wc -l)" -eq 2 ] || fail "pulled despite a wrong host key"
"$SCFGATE" transfer --config kh_bad.xml --once >"$T/log" 2>&1 && fail "a host key not in known_hosts was accepted"
grep -q "host key does not match the pinned key" "$T/log" || fail "no clear host key error (known_hosts)"
[ "$(ls remote/inbound/new | wc -l)" -eq 0 ] || fail "pushed despite a wrong known_hosts"
[ "$(ls local/outbound/new | wc -l)" -eq 2 ] || fail "pulled despite a wrong known_hosts"

start=$(date +%s)
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "transfer --once failed"
cp "$T/log" "$T/log.first"
echo "transfer took $(($(date +%s) - start)) s" >&2

# pull: byte-identical, once, removed remotely
c8=$(printf '%020d-scf.xml' 8)
for f in expect_out/*; do
	b=${f#expect_out/}
	[ "$b" = "$c8" ] && continue
	cmp -s "$f" "local/outbound/new/$b" || fail "pulled $b differs or is missing"
	[ -e "remote/outbound/new/$b" ] && fail "pulled $b still on the remote"
done
cmp -s "expect_out/$c8" "remote/outbound/new/$c8" || fail "a remote record with a different local namesake was touched"
[ "$(cat "local/outbound/new/$c8")" = "other bytes" ] || fail "a local file was replaced"
grep -q "event=transfer_left_alone queue=outbound name=$c8 why=\"$c8: conflict: new/$c8 has other content\"" "$T/log" || fail "the namesake not reported"
[ "$(ls local/outbound/new | wc -l)" -eq 30 ] || fail "local outbound/new has $(ls local/outbound/new | wc -l) files, not 30"
ls local/outbound/tmp | grep -q . && fail "local outbound/tmp not empty"
# the traps: all still there, none pulled, each reported
for s in 101 102 103 104; do
	name=$(printf '%020d-scf.xml' $s)
	[ -e "remote/outbound/new/$name" ] || [ -L "remote/outbound/new/$name" ] || fail "remote $name was touched"
	[ -e "local/outbound/new/$name" ] && fail "$name was pulled"
done
[ -e "remote/outbound/new/$hostile" ] || fail "the hostile name was touched"
[ -e "local/outbound/new/$(printf '%020d-scf.xml' 105)" ] && fail "a forged listing line was pulled"
[ -e remote/outbound/new/notarecord.txt ] || fail "notarecord.txt was touched"
[ -e "local/outbound/new/$(printf '%020d-scf.xml' 107)" ] && fail "a link with a long listing line was pulled"
[ -L "remote/outbound/new/$(printf '%020d-scf.xml' 107)" ] || fail "the link with a long line was touched"
grep -q 'event=transfer_left_alone queue=outbound name="00000000000000000107-scf.xml" why="the listing also names it' "$T/log" || fail "the long link not reported"
grep -q 'event=transfer_left_alone queue=outbound name="00000000000000000103-scf.xml".*over the record size limit' "$T/log" || fail "oversized file not reported"
grep -q 'event=transfer_left_alone queue=outbound why=.*line=.*prw.*00000000000000000101-scf.xml' "$T/log" || fail "FIFO not reported"
grep -q 'event=transfer_left_alone queue=outbound why=.*line=.*lrw.*00000000000000000102-scf.xml' "$T/log" || fail "symlink not reported"
grep -q 'event=transfer_left_alone queue=outbound name="00000000000000000105-scf.xml"' "$T/log" || fail "forged line not reported"
grep -q 'event=transfer_left_alone queue=outbound name=00000000000000000106-scf.xml why="listed, but not there to download"' "$T/log" || fail "a forged line of an absent name not reported"
grep -q 'event=transfer_pass queue=outbound direction=pull moved=28 duplicates=1 left_alone=15 failed=0 ' "$T/log" || fail "pull counts wrong"

# push: byte-identical in the remote new/, local moved to sent/
for f in expect_in/*; do
	b=${f#expect_in/}
	cmp -s "$f" "remote/inbound/new/$b" || fail "pushed $b differs or is missing"
	cmp -s "$f" "local/inbound/sent/$b" || fail "pushed $b not in sent/"
	[ -e "local/inbound/new/$b" ] && fail "pushed $b still in new/"
done
[ "$(ls remote/inbound/new | wc -l)" -eq 20 ] || fail "remote inbound/new count"
ls remote/inbound/tmp | grep -q . && fail "remote inbound/tmp not empty"
grep -q 'event=transfer_pass queue=inbound direction=push moved=20 duplicates=0 left_alone=0 failed=0' "$T/log" || fail "push counts wrong"

# status and metrics: the transfer's last pass per direction, with its
# counts, in `scfgate status` (text and JSON) and in its own textfile
"$SCFGATE" status --config good.xml >status.txt 2>&1
grep -q "^transfer ($USER_NAME@127.0.0.1:$PORT; last pass recorded " status.txt || fail "status shows no transfer"
grep -q "^  pull       ok (last attempt .*; 28 records moved then, 28 in all)" status.txt || fail "status: pull counts"
grep -q "^  push       ok (last attempt .*; 20 records moved then, 20 in all)" status.txt || fail "status: push counts"
tail -1 status.txt | grep -q transfer && fail "status: a healthy transfer in the verdict"
"$SCFGATE" status --json --config good.xml >status.json 2>&1
"$PY" - <<'PY' || fail "status --json: transfer"
import json
x = json.load(open("status.json"))["transfer"]
assert x["pull"]["class"] == "ok" and x["pull"]["moved_last"] == 28, x
assert x["push"]["moved_last"] == 20 and x["push"]["moved_total"] == 20, x
assert x["saved_at"] > 0, x
PY
# age_health SECONDS: the transfer's newest health record (the one status
# and the next pass read) as if its passes had been made SECONDS earlier:
# every non-zero time in it moves back that far.  Time passes for status
# and for the next pass so, instead of by sleeping.
age_health() {
	f=$(ls "$T"/local/state/transfer/health.* 2>/dev/null | sort | tail -1)
	[ -n "$f" ] || fail "no transfer health record to age"
	perl -pi -e 'if (/^saved (\d+)$/) { $_ = "saved " . ($1 - '"$1"') . "\n" }
		elsif (/^kind /) { my @f = split / /; for my $i (2 .. 4) { $f[$i] -= '"$1"' if $f[$i] } $_ = join " ", @f }' "$f"
}
# failing longer than failingAlarmSeconds: ATTENTION with the reason and
# what to do; a success clears it; no pass for the alarm time plus twice
# the interval: ATTENTION too.  Metrics: the transfer's own textfile.
mkdir -p metrics
DOWN=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e 's|<peerPublicKey>|<failingAlarmSeconds>1</failingAlarmSeconds><peerPublicKey>|' \
	-e "s|</spool>|</spool><metrics><textfile>$T/metrics/oms.prom</textfile></metrics>|" \
	-e 's|remoteDir=|intervalSeconds="1" remoteDir=|' good.xml >alarm.xml
sed "s|<port>$PORT</port>|<port>$DOWN</port>|" alarm.xml >down.xml
"$SCFGATE" transfer --config down.xml --once >"$T/log" 2>&1 && fail "a pass to a closed port succeeded"
age_health 2 # the outage began 2 s ago: past failingAlarmSeconds (1)
"$SCFGATE" transfer --config down.xml --once >"$T/log" 2>&1 && fail "a pass to a closed port succeeded"
"$SCFGATE" status --config down.xml >status.txt 2>&1 && fail "status: a failing transfer is healthy"
tail -1 status.txt | grep -q "^ATTENTION: .* transfer pull failing for [0-9]*s: Couldn't connect to server (check $USER_NAME@127.0.0.1:$DOWN and the transfer's log; the next pass retries); transfer push failing for" || fail "status: no failing transfer in the verdict: $(tail -1 status.txt)"
grep -q "^  pull       FAILING for [0-9]*s (temporary error; last attempt .*, last success .*; 0 moved and 0 failed then, 28 moved in all): " status.txt || fail "status: the failing pull line"
grep -q '^scfgate_failing_seconds{kind="pull"} [1-9]' metrics/oms-transfer.prom || fail "metrics: failing seconds"
grep -q '^scfgate_last_attempt_timestamp_seconds{kind="push"} [1-9]' metrics/oms-transfer.prom || fail "metrics: last attempt"
grep -q '^scfgate_transfer_failed_total{queue="inbound",direction="push"} 0$' metrics/oms-transfer.prom || fail "metrics: failed files"
"$SCFGATE" transfer --config alarm.xml --once >"$T/log" 2>&1 || fail "the pass after the outage failed"
"$SCFGATE" status --config alarm.xml >status.txt 2>&1
tail -1 status.txt | grep -q transfer && fail "status: a recovered transfer still in the verdict"
grep -q '^scfgate_failing_seconds{kind="pull"} 0$' metrics/oms-transfer.prom || fail "metrics: failing after a success"
grep -q '^scfgate_transfer_records_total{queue="outbound",direction="pull"} 0$' metrics/oms-transfer.prom || fail "metrics: records"
grep -q '^scfgate_last_success_timestamp_seconds{kind="push"} [1-9]' metrics/oms-transfer.prom || fail "metrics: last success"
[ -e metrics/oms.prom ] && fail "the transfer wrote the half's textfile"
# The limit is 1 + 2 * 1 = 3 s: the last pass as if made 5 s ago.
age_health 5
"$SCFGATE" status --config alarm.xml >status.txt 2>&1 && fail "status: a transfer that stopped is healthy"
tail -1 status.txt | grep -q "no transfer pass recorded for [0-9]*s: scfgate transfer is not running" || fail "status: a stopped transfer not in the verdict: $(tail -1 status.txt)"

# a re-send of a record still waiting remotely: the server refuses to
# replace it, the record stays in new/ and the pass fails; once the
# consumer took the first copy, it goes through (a duplicate there)
name=$(printf '%020d-oms.xml' 5)
mv "local/inbound/sent/$name" local/inbound/new/
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 && fail "a re-send onto a waiting copy succeeded"
[ -e "local/inbound/new/$name" ] || fail "a refused re-send left new/"
ls remote/inbound/tmp | grep -q . && fail "a refused upload left remote tmp/ files"
rm "remote/inbound/new/$name"
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "the re-send failed"
cmp -s "expect_in/$name" "remote/inbound/new/$name" || fail "re-sent $name differs"
[ -e "local/inbound/sent/$name" ] || fail "re-sent $name not in sent/"

# sent/ retention: a file sent 4 days ago goes, one sent now stays
touch -d '4 days ago' "local/inbound/sent/$(printf '%020d-oms.xml' 1)"
# stale uploads in the remote tmp/: a killed transfer's part older than
# an hour plus the timeout goes; a fresh one (an upload that may still
# be in progress) and names that are not ours stay
old_part="$(printf '%020d-oms.xml' 90).4242.part"
fresh_part="$(printf '%020d-oms.xml' 91).4243.part"
printf 'partial' >"remote/inbound/tmp/$old_part"
printf 'partial' >"remote/inbound/tmp/$fresh_part"
printf 'x' >remote/inbound/tmp/notes.part
printf 'x' >"remote/inbound/tmp/$(printf '%020d-oms.xml' 92).part"
touch -d '1 hour ago 2 minutes ago' "remote/inbound/tmp/$old_part" remote/inbound/tmp/notes.part \
	"remote/inbound/tmp/$(printf '%020d-oms.xml' 92).part"
touch -d '50 minutes ago' "remote/inbound/tmp/$fresh_part"
"$SCFGATE" transfer --config kh_good.xml --once >"$T/log" 2>&1 || fail "third pass failed"
[ -e "remote/inbound/tmp/$old_part" ] && fail "a stale upload was not removed"
[ -e "remote/inbound/tmp/$fresh_part" ] || fail "a fresh upload was removed"
[ -e remote/inbound/tmp/notes.part ] || fail "a file that is not an upload was removed"
[ -e "remote/inbound/tmp/$(printf '%020d-oms.xml' 92).part" ] || fail "a name without a pid was removed"
grep -q "event=transfer_stale_removed queue=inbound name=$old_part age=" "$T/log" || fail "the stale upload's removal not logged"
grep -q 'direction=push moved=0 .* stale=1' "$T/log" || fail "stale count"
rm -f remote/inbound/tmp/*
[ -e "local/inbound/sent/$(printf '%020d-oms.xml' 1)" ] && fail "sent/ retention did not expire"
[ -e "local/inbound/sent/$(printf '%020d-oms.xml' 2)" ] || fail "sent/ retention removed a fresh file"
grep -q 'direction=push moved=0 .*expired=1' "$T/log" || fail "expired count"
# one way (oneWay="true", a diode's SFTP): the push goes through, and
# nothing on the remote is listed, so an old upload stays
sed 's|direction="push" remoteDir=|direction="push" oneWay="true" remoteDir=|' good.xml >oneway.xml
printf 'partial' >"remote/inbound/tmp/$old_part"
touch -d '2 hours ago' "remote/inbound/tmp/$old_part"
name=$(printf '%020d-oms.xml' 31)
head -c 3000 /dev/urandom >"local/inbound/new/$name"
"$SCFGATE" transfer --config oneway.xml --once >"$T/log" 2>&1 || fail "a one-way push failed"
cmp -s "local/inbound/sent/$name" "remote/inbound/new/$name" || fail "one-way push differs"
[ -e "remote/inbound/tmp/$old_part" ] || fail "a one-way push listed and cleaned the remote tmp/"
rm -f remote/inbound/tmp/* "remote/inbound/new/$name" "local/inbound/sent/$name"

# a record this queue has consumed already (in done/ with the same
# bytes): a duplicate, removed remotely and not put into new/ again; one
# with other bytes under a done/ name stays on the remote, reported
d1=$(printf '%020d-scf.xml' 41)
d2=$(printf '%020d-scf.xml' 42)
mkdir -p local/outbound/done
head -c 2000 /dev/urandom >"remote/outbound/new/$d1"
cp "remote/outbound/new/$d1" local/outbound/done/
head -c 2000 /dev/urandom >"remote/outbound/new/$d2"
printf 'other bytes' >"local/outbound/done/$d2"
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "the pass with consumed records failed"
[ -e "remote/outbound/new/$d1" ] && fail "a record consumed here stayed on the remote"
[ -e "local/outbound/new/$d1" ] && fail "a record consumed here was put into new/ again"
grep -q "event=transfer_duplicate queue=outbound name=$d1" "$T/log" || fail "the consumed duplicate not reported"
[ -e "remote/outbound/new/$d2" ] || fail "a remote record with a different consumed namesake was removed"
[ -e "local/outbound/new/$d2" ] && fail "a record with a different consumed namesake was pulled"
grep -q "event=transfer_left_alone queue=outbound name=$d2 why=\"$d2: conflict: done/$d2 has other content\"" "$T/log" ||
	fail "the consumed namesake not reported"
rm -f local/outbound/done/* "remote/outbound/new/$d2"

# daemon mode: the first pass at once, then SIGTERM ends it cleanly
name=$(printf '%020d-oms.xml' 21)
head -c 5000 /dev/urandom >"local/inbound/new/$name"
"$SCFGATE" transfer --config good.xml >"$T/log" 2>&1 &
XPID=$!
i=0
while [ ! -e "local/inbound/sent/$name" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { kill $XPID; fail "the daemon did not push"; }
	sleep 0.1
done
kill -TERM $XPID
wait $XPID || fail "the daemon did not exit 0 on SIGTERM"
grep -q "event=stop" "$T/log" || fail "no event=stop"
cmp -s "local/inbound/sent/$name" "remote/inbound/new/$name" || fail "daemon push differs"

# the server disappears in the middle of a daemon pass (sshd and its
# sessions killed) and comes back: the pass fails as temporary and is
# logged, the daemon keeps running, a later pass finishes the work, and
# every record arrives once, whole
rm -rf local remote expect_out expect_in
mkdir -p local/outbound/new local/inbound/new remote/outbound/new remote/outbound/tmp \
	remote/inbound/new remote/inbound/tmp expect_out expect_in
# (python: a few hundred files without a process each)
"$PY" - <<'PY' || fail "cannot make the records"
import os
for n in range(1, 201):
    for d, name, size in (("expect_out", "%020d-scf.xml" % n, n * 7 + 900),
                          ("expect_in", "%020d-oms.xml" % n, n * 5 + 700)):
        b = os.urandom(size)
        for dst in (d, "remote/outbound/new" if d == "expect_out" else "local/inbound/new"):
            with open(os.path.join(dst, name), "wb") as f:
                f.write(b)
PY
sed 's|remoteDir=|intervalSeconds="1" remoteDir=|' good.xml >fast.xml
"$SCFGATE" transfer --config fast.xml >"$T/log" 2>&1 &
XPID=$!
i=0
while [ "$(ls local/outbound/new | wc -l)" -lt 20 ] && [ "$(ls remote/inbound/new | wc -l)" -lt 20 ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { kill $XPID; fail "the daemon did not start moving"; }
	sleep 0.02
done
kill_tree "$SSHD_PID"
wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
moved_before=$(($(ls local/outbound/new | wc -l) + $(ls remote/inbound/new | wc -l)))
[ "$moved_before" -lt 400 ] || fail "the pass ended before the server went away"
i=0
while ! grep -q 'event=transfer_pass .* why=' "$T/log"; do
	i=$((i + 1))
	[ $i -gt 100 ] && { kill $XPID; fail "no failed pass logged while the server was away"; }
	sleep 0.1
done
# (the failed push as soon as it is logged, within the 1.5 s allowed)
i=0
while ! grep -q 'event=transfer_pass queue=inbound direction=push .* why=' "$T/log" && [ $i -lt 30 ]; do
	i=$((i + 1))
	sleep 0.05
done
kill -0 $XPID 2>/dev/null || fail "the daemon exited while the server was away"
grep -q 'event=transfer_pass queue=inbound direction=push .* why=' "$T/log" || fail "no failed push pass logged while the server was away"
same() { # $1 (expected) against $2: every file of $2 is whole; with
	# "all", $2 holds exactly the files of $1, byte-identical
	"$PY" - "$@" <<'PY'
import os, sys
exp, got = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(got))
for n in names:
    if not n.endswith(".xml"):
        continue
    with open(os.path.join(exp, n), "rb") as a, open(os.path.join(got, n), "rb") as b:
        if a.read() != b.read():
            sys.exit("partial or wrong file %s/%s" % (got, n))
if len(sys.argv) > 3 and names != sorted(os.listdir(exp)):
    sys.exit("%s: %d files, not the %d expected" % (got, len(names), len(os.listdir(exp))))
PY
}
same expect_out local/outbound/new || fail "after the server went away"
same expect_in remote/inbound/new || fail "after the server went away"
start_sshd same-port
i=0
while [ -n "$(ls remote/outbound/new)" ] || [ -n "$(ls local/inbound/new)" ]; do
	i=$((i + 1))
	[ $i -gt 300 ] && { kill $XPID; fail "the daemon did not finish after the server came back"; }
	sleep 0.1
done
kill -TERM $XPID
wait $XPID || fail "the daemon did not exit 0 after the server came back"
same expect_out local/outbound/new all || fail "after the outage: pull"
same expect_in remote/inbound/new all || fail "after the outage: push"
same expect_in local/inbound/sent all || fail "after the outage: sent/"
grep 'event=transfer_pass .* why=' "$T/log" | head -2 | sed 's/^/outage: /' >&2

check_whole() { # every file under a record name in $1 is complete
	for f in "$1"/*.xml; do
		[ -e "$f" ] || continue
		cmp -s "$f" "$2/$(basename "$f")" || fail "partial or wrong file $f after a kill"
	done
}

# kill -9 at random moments, ROUNDS times, both directions at once; the
# remote consumer is simulated between rounds (remote inbound/new/ moves
# into taken/, where a second copy must be byte-identical).  Oracle: no
# partial file ever under a record name, in the end every record once,
# byte-identical, where it belongs, nothing left behind.
ROUNDS=${TRANSFER_KILL_ROUNDS:-10}
rm -rf local remote expect_out expect_in
mkdir -p local/outbound/new local/inbound/new remote/outbound/new remote/outbound/tmp \
	remote/inbound/new remote/inbound/tmp taken expect_out expect_in
n=1
while [ $n -le 40 ]; do
	head -c $((n * 3001 + 7)) /dev/urandom >"expect_out/$(printf '%020d-scf.xml' $n)"
	head -c $((n * 2003 + 5)) /dev/urandom >"expect_in/$(printf '%020d-oms.xml' $n)"
	n=$((n + 1))
done
cp expect_out/* remote/outbound/new/
cp expect_in/* local/inbound/new/
consume() {
	for f in remote/inbound/new/*.xml; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		if [ -e "taken/$b" ]; then
			cmp -s "$f" "taken/$b" || fail "a duplicate of $b differs"
			rm "$f"
		else
			mv "$f" "taken/$b"
		fi
	done
}
r=0
kills=0
while [ $r -lt $ROUNDS ]; do
	"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 &
	XPID=$!
	sleep "0.$(awk -v s=$r 'BEGIN{srand(s*7919+1); printf "%03d", int(rand()*600)}')"
	kill -9 $XPID 2>/dev/null && kills=$((kills + 1))
	wait $XPID 2>/dev/null
	check_whole local/outbound/new expect_out
	check_whole remote/inbound/new expect_in
	check_whole taken expect_in
	consume
	r=$((r + 1))
done
# then to the end, without kills
i=0
while [ -n "$(ls remote/outbound/new)" ] || [ -n "$(ls local/inbound/new)" ]; do
	"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "a pass after the kills failed"
	consume
	i=$((i + 1))
	[ $i -gt 5 ] && fail "the kill rounds left records behind"
done
consume
for f in expect_out/*; do
	cmp -s "$f" "local/outbound/new/$(basename "$f")" || fail "after kills: pulled $(basename "$f") differs or is missing"
done
for f in expect_in/*; do
	cmp -s "$f" "taken/$(basename "$f")" || fail "after kills: pushed $(basename "$f") differs or is missing"
	cmp -s "$f" "local/inbound/sent/$(basename "$f")" || fail "after kills: $(basename "$f") not in sent/"
done
[ "$(ls local/outbound/new | wc -l)" -eq 40 ] || fail "after kills: extra files in local outbound/new"
[ "$(ls taken | wc -l)" -eq 40 ] || fail "after kills: extra files taken"
echo "kill -9: $kills of $ROUNDS runs killed; $(ls remote/inbound/tmp | wc -l) remote and $(ls local/outbound/tmp | wc -l) local tmp/ files left behind" >&2
# what the kills left in the remote tmp/ goes once it is old enough
# (one planted, in case no kill hit an upload)
printf 'partial' >"remote/inbound/tmp/$(printf '%020d-oms.xml' 1).99999.part"
left=$(ls remote/inbound/tmp | wc -l)
touch -d '2 hours ago' remote/inbound/tmp/*
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "the cleaning pass failed"
ls remote/inbound/tmp | grep -q . && fail "stale uploads left in the remote tmp/"
grep -q "direction=push moved=0 .* stale=$left" "$T/log" || fail "stale count after kills (expected $left)"

echo "transfer_sftp: ok"
exit 0
