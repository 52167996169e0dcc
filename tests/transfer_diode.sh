#!/bin/sh
# transfer_diode.sh SCFGATE SRCDIR: `scfgate transfer` one way into a
# local drop directory (a data diode's), no SSH at all:
#   - the configuration: localDir without <host>; localDir or oneWay with
#     direction="pull", both remoteDir and localDir, and a remoteDir
#     without <host> are refused
#   - every record of the local inbound/new/ arrives in DROP/new/
#     byte-identical and moves to sent/; DROP/new/ and DROP/tmp/ are made
#     when missing; nothing is read from DROP (a name still there keeps
#     the record in new/, and the pass fails until the other side took it)
#   - kill -9 at random moments: never a partial file under a record name
#     in DROP/new/, in the end every record once (a duplicate
#     byte-identical, which the receiving side drops)
#   - status shows the one-way push with its counts
set -u
# the system interpreter: a wrapper in PATH may cost seconds per start
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SCFGATE=$1
SRC=$2
T=$(mktemp -d /tmp/scfgate-diode.XXXXXX)
fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/log" ] && sed 's/^/transfer: /' "$T/log" >&2
	exit 1
}
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cd "$T" || exit 1
cp "$SRC/tests/data/keys/test-oms.key" oms.key && chmod 600 oms.key
echo "user:secret" >cg.cred && chmod 600 cg.cred
mkdir -p local drop
config() { # $1 = the <transfer> section's content, $2 = file
	cat >"$2" <<XML
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
$1
  </transfer>
</scfgate>
XML
}
config "    <queue name=\"inbound\" direction=\"push\" localDir=\"$T/drop/\" sentRetentionDays=\"0\"/>" good.xml
"$SCFGATE" config check good.xml >/dev/null 2>&1 || fail "a drop directory without <host> refused: $("$SCFGATE" config check good.xml 2>&1)"
config "    <queue name=\"inbound\" direction=\"pull\" localDir=\"$T/drop\"/>" bad1.xml
config "    <host>h</host><user>u</user><privateKey>$T/oms.key</privateKey><hostKeySha256>SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</hostKeySha256>
    <queue name=\"outbound\" direction=\"pull\" oneWay=\"true\" remoteDir=\"/o\"/>" bad2.xml
config "    <queue name=\"inbound\" direction=\"push\" localDir=\"$T/drop\" remoteDir=\"/i\"/>" bad3.xml
config "    <queue name=\"inbound\" direction=\"push\" remoteDir=\"/i\"/>" bad4.xml
"$SCFGATE" config check bad1.xml >out 2>&1 && fail "a pulled drop directory accepted"
grep -q 'queue inbound: localDir and oneWay push only' out || fail "bad1: $(cat out)"
"$SCFGATE" config check bad2.xml >out 2>&1 && fail "a one-way pull accepted"
grep -q 'queue outbound: localDir and oneWay push only' out || fail "bad2: $(cat out)"
"$SCFGATE" config check bad3.xml >out 2>&1 && fail "remoteDir and localDir together accepted"
grep -q 'queue inbound: give remoteDir (over SFTP) or localDir' out || fail "bad3: $(cat out)"
"$SCFGATE" config check bad4.xml >out 2>&1 && fail "a remoteDir without <host> accepted"
grep -q '<host>, <user> and <privateKey> are needed for a queue with remoteDir' out || fail "bad4: $(cat out)"

"$PY" - <<'PY' || fail "cannot make the records"
import os
os.makedirs("local/inbound/new", exist_ok=True)
os.makedirs("expect", exist_ok=True)
for n in range(1, 31):
    b = os.urandom(n * 1531 + 3)
    for d in ("expect", "local/inbound/new"):
        with open("%s/%020d-oms.xml" % (d, n), "wb") as f:
            f.write(b)
PY
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "transfer --once failed"
same() { # $1 (expected) against $2: every file of $2 whole; with "all",
	# exactly the files of $1
	"$PY" - "$@" <<'PY'
import os, sys
exp, got = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(got))
for n in names:
    with open(os.path.join(exp, n), "rb") as a, open(os.path.join(got, n), "rb") as b:
        if a.read() != b.read():
            sys.exit("partial or wrong file %s/%s" % (got, n))
if len(sys.argv) > 3 and names != sorted(os.listdir(exp)):
    sys.exit("%s: %d files, not the %d expected" % (got, len(names), len(os.listdir(exp))))
PY
}
same expect drop/new all || fail "push into the drop directory"
same expect local/inbound/sent all || fail "sent/"
[ -z "$(ls local/inbound/new)" ] || fail "records left in new/"
[ -z "$(ls drop/tmp)" ] || fail "files left in the drop directory's tmp/"
grep -q 'event=transfer_pass queue=inbound direction=push moved=30 duplicates=0 left_alone=0 failed=0' "$T/log" || fail "push counts"

# a name still in DROP/new: the record stays, the pass fails, until the
# other side took the first copy
name=$(printf '%020d-oms.xml' 5)
mv "local/inbound/sent/$name" local/inbound/new/
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 && fail "a re-send onto a waiting copy succeeded"
[ -e "local/inbound/new/$name" ] || fail "a refused re-send left new/"
[ -z "$(ls drop/tmp)" ] || fail "a refused re-send left a file in tmp/"
rm "drop/new/$name"
"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "the re-send failed"
cmp -s "expect/$name" "drop/new/$name" || fail "re-sent $name differs"

# status: the one-way push with its counts
"$SCFGATE" status --config good.xml >status.txt 2>&1
grep -q "^transfer (drop directory $T/drop; last pass recorded " status.txt || fail "status: $(grep transfer status.txt)"
grep -q "^  push       ok (last attempt .*; 1 record moved then, 31 in all)" status.txt || fail "status: push counts"
"$SCFGATE" status --config good.xml --json >status.json 2>&1
"$PY" - <<'PY' || fail "status --json: $(cat status.json)"
import json
x = json.load(open("status.json"))["transfer"]["push"]
assert x["class"] == "ok" and x["last_success"] > 0, x
assert (x["moved_last"], x["failed_last"], x["moved_total"]) == (1, 0, 31), x
assert list(x) == ["last_attempt", "last_success", "class", "moved_last", "failed_last",
                   "moved_total"], list(x)
PY

# kill -9 at random moments, with the other side taking what arrives
rm -rf drop local/inbound expect taken
mkdir -p drop
mkdir -p taken
"$PY" - <<'PY' || fail "cannot make the records"
import os
os.makedirs("local/inbound/new", exist_ok=True)
os.makedirs("expect", exist_ok=True)
for n in range(1, 201):
    b = os.urandom(n * 37 + 500)
    for d in ("expect", "local/inbound/new"):
        with open("%s/%020d-oms.xml" % (d, n), "wb") as f:
            f.write(b)
PY
consume() {
	"$PY" - <<'PY' || fail "a duplicate differs"
import os, sys
if os.path.isdir("drop/new"):
    for n in os.listdir("drop/new"):
        src, dst = "drop/new/" + n, "taken/" + n
        if os.path.exists(dst):
            if open(src, "rb").read() != open(dst, "rb").read():
                sys.exit("duplicate %s differs" % n)
            os.unlink(src)
        else:
            os.rename(src, dst)
PY
}
r=0
while [ $r -lt 6 ]; do
	"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 &
	XPID=$!
	sleep "0.$(awk -v s=$r 'BEGIN{srand(s*104729+3); printf "%03d", int(rand()*400)}')"
	kill -9 $XPID 2>/dev/null
	wait $XPID 2>/dev/null
	[ -d drop/new ] && { same expect drop/new || fail "after a kill"; }
	consume
	r=$((r + 1))
done
i=0
while [ -n "$(ls local/inbound/new)" ]; do
	"$SCFGATE" transfer --config good.xml --once >"$T/log" 2>&1 || fail "a pass after the kills failed"
	consume
	i=$((i + 1))
	[ $i -gt 3 ] && fail "the kill rounds left records behind"
done
same expect taken all || fail "after the kills: taken"
same expect local/inbound/sent all || fail "after the kills: sent/"
echo "transfer_diode: ok"
