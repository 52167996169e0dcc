#!/bin/sh
# transfer_bench.sh BUILD_DIR: records/s that `scfgate transfer` pushes over
# SFTP on loopback against `sftp -b` (the same upload to tmp/ and rename
# into new/) and `scp` (straight into new/) moving the same files in the
# same run, to a real OpenSSH server started here (goal: scfgate at least
# 0.8x the better of the two), and scfgate's peak RSS at N and 10 x N
# files (goal: flat).  A benchmark: it reports, it does not fail on speed.
# SCFGATE_BENCH_TRANSFER_N: the small count (default 1000).
set -eu
build=$(cd "$1" && pwd)
keys=$(cd "$(dirname "$0")/../data/keys" && pwd)
N=${SCFGATE_BENCH_TRANSFER_N:-1000}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-transfer-bench.XXXXXX")
SSHD_PID=
trap '[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null; rm -rf "$T"' EXIT
[ -x /usr/sbin/sshd ] || { echo "transfer: /usr/sbin/sshd not installed" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -p -m 0755 /run/sshd; fi
cd "$T"
ssh-keygen -q -t ed25519 -N '' -C host -f host_key
ssh-keygen -q -t ed25519 -N '' -C user -f user_key
cp user_key.pub authorized_keys && chmod 600 authorized_keys user_key
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '%s\n' "Port $PORT" "ListenAddress 127.0.0.1" "HostKey $T/host_key" \
	"AuthorizedKeysFile $T/authorized_keys" "PidFile $T/sshd.pid" "StrictModes no" \
	"UsePAM no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
	"PubkeyAuthentication yes" "Subsystem sftp internal-sftp" "LogLevel ERROR" \
	"MaxStartups 100" >sshd_config
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>sshd.log &
SSHD_PID=$!
i=0
while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && { echo "sshd does not listen" >&2; exit 1; }; sleep 0.1
done
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 host_key.pub)" >known_hosts
cp "$keys/test-oms.key" oms.key
chmod 600 oms.key
echo "u:p" >cg.cred && chmod 600 cg.cred
SSH_OPTS="-F /dev/null -P $PORT -i $T/user_key -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=yes"
USER_NAME=$(id -un)

# make N records (about 1.5 KiB, like an issue record) in DIR
records() { # N DIR
	mkdir -p "$2"
	"$PY" - "$1" "$2" <<'PY'
import os, sys
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    with open("%s/%020d-oms.xml" % (d, i), "wb") as f:
        f.write(os.urandom(1536))
PY
}
# wall seconds and peak RSS (KiB) of a command
measure() {
	"$PY" - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open("cmd.log", "ab")).returncode
dt = time.monotonic() - t
print("%.3f %d %d" % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
PY
}
fresh_remote() { rm -rf remote && mkdir -p remote/inbound/new remote/inbound/tmp; }
config() { # N -> cfg.xml with its own spool root local-N
	cat >cfg.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="oms" version="1">
  <spool><root>$T/local</root><producer>oms</producer><privateKey>$T/oms.key</privateKey>
    <peerPublicKey>$keys/test-scf.pub</peerPublicKey></spool>
  <cartegraph><baseUrl>http://127.0.0.1:1/x</baseUrl><credentials>$T/cg.cred</credentials></cartegraph>
  <requestTypes><requestType id="1" title="Pothole" remoteId="Pothole"/></requestTypes>
  <transfer><host>127.0.0.1</host><port>$PORT</port><user>$USER_NAME</user>
    <privateKey>$T/user_key</privateKey><knownHosts>$T/known_hosts</knownHosts>
    <queue name="inbound" direction="push" remoteDir="$T/remote/inbound" sentRetentionDays="0"/>
  </transfer>
</scfgate>
XML
}
config
scfgate_push() { # N: records/s and peak RSS of one --once pass
	rm -rf local && records "$1" local/inbound/new && fresh_remote
	set -- "$1" $(measure "$build/scfgate" transfer --config cfg.xml --once)
	[ "$4" -eq 0 ] && [ "$(ls remote/inbound/new | wc -l)" -eq "$1" ] || { echo "scfgate transfer failed (see cmd.log)" >&2; return 1; }
	echo "$1 $2 $3"
}

records "$N" src
# sftp -b: per file an upload to tmp/ and a rename into new/, one session
fresh_remote
for f in src/*; do
	b=${f#src/}
	printf 'put %s %s\nrename %s %s\n' "$f" "$T/remote/inbound/tmp/$b.part" \
		"$T/remote/inbound/tmp/$b.part" "$T/remote/inbound/new/$b"
done >batch
set -- $(measure sftp $SSH_OPTS -q -b batch "$USER_NAME@127.0.0.1")
[ "$(ls remote/inbound/new | wc -l)" -eq "$N" ] || echo "sftp -b moved $(ls remote/inbound/new | wc -l) of $N" >&2
sftp_rate=$("$PY" -c "print('%.0f' % ($N / $1))")
# scp: every file in one command, straight into new/
fresh_remote
set -- $(measure scp $SSH_OPTS -q -r src/. "$USER_NAME@127.0.0.1:$T/remote/inbound/new/")
[ "$(ls remote/inbound/new | wc -l)" -eq "$N" ] || echo "scp moved $(ls remote/inbound/new | wc -l) of $N" >&2
scp_rate=$("$PY" -c "print('%.0f' % ($N / $1))")
set -- $(scfgate_push "$N")
rate=$("$PY" -c "print('%.0f' % ($1 / $2))")
rss_small=$3
best=$sftp_rate
[ "$scp_rate" -gt "$best" ] && best=$scp_rate
echo "push of $N records of 1.5 KiB over SFTP on loopback (one connection each):"
echo "  scfgate transfer --once  $rate records/s (upload to tmp/, rename, local move to sent/)"
echo "  sftp -b                  $sftp_rate records/s (upload to tmp/, rename)"
echo "  scp                      $scp_rate records/s (straight into new/)"
echo "  ratio to the better: $("$PY" -c "print('%.2f' % ($rate / $best))") (goal: at least 0.80)"
M=$((N * 10))
set -- $(scfgate_push "$M")
echo "peak RSS of scfgate transfer: $rss_small KiB at $N records, $3 KiB at $M records" \
	"($("$PY" -c "print('%.0f' % ($M / $2))") records/s) (goal: flat)"
