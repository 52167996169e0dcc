#!/bin/sh
# transfer_bench.sh BUILD_DIR: records/s that `scfgate transfer` moves over
# SFTP on loopback, each direction, against `sftp -b` and `scp` moving the
# same files in the same run, to a real OpenSSH server started here (goal:
# scfgate at least 0.8x the better of the two), and scfgate's peak RSS at
# N and 10 x N files each way (goal: flat).  Each timing is the median of
# SCFGATE_BENCH_TRANSFER_REPEAT runs (default 3), the tools taking turns,
# so a burst of load on a shared machine does not pick the winner.  The
# output says what each tool does and does not do.  A benchmark: it
# reports, it does not fail on speed.
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
fresh_remote() { rm -rf remote && mkdir -p remote/inbound/new remote/inbound/tmp remote/outbound/new remote/outbound/tmp; }
config() { # -> cfg-push.xml and cfg-pull.xml, spool root local
	for dir in push pull; do
		q=inbound
		[ $dir = pull ] && q=outbound
		cat >cfg-$dir.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<scfgate half="oms" version="1">
  <spool><root>$T/local</root><producer>oms</producer><privateKey>$T/oms.key</privateKey>
    <peerPublicKey>$keys/test-scf.pub</peerPublicKey></spool>
  <cartegraph><baseUrl>http://127.0.0.1:1/x</baseUrl><credentials>$T/cg.cred</credentials></cartegraph>
  <requestTypes><requestType id="1" title="Pothole" remoteId="Pothole"/></requestTypes>
  <transfer><host>127.0.0.1</host><port>$PORT</port><user>$USER_NAME</user>
    <privateKey>$T/user_key</privateKey><knownHosts>$T/known_hosts</knownHosts>
    <queue name="$q" direction="$dir" remoteDir="$T/remote/$q" sentRetentionDays="0"/>
  </transfer>
</scfgate>
XML
	done
}
config
# the same files, fresh, for one run: push takes them from local
# inbound/new/, pull from the remote outbound/new/
fresh() { # push|pull
	rm -rf local dst && mkdir -p local dst && fresh_remote
	if [ "$1" = push ]; then mkdir -p local/inbound && cp -r src local/inbound/new
	else rmdir remote/outbound/new && cp -r src remote/outbound/new; fi
}
# one timed run of TOOL in direction DIR on the current fresh files;
# prints "seconds rss rc" and checks that every file arrived
run() { # DIR TOOL
	case "$1 $2" in
	"push scfgate") set -- "$@" $(measure "$build/scfgate" transfer --config cfg-push.xml --once) ;;
	"push sftp") set -- "$@" $(measure sftp $SSH_OPTS -q -b batch-push "$USER_NAME@127.0.0.1") ;;
	"push scp") set -- "$@" $(measure scp $SSH_OPTS -q -r src/. "$USER_NAME@127.0.0.1:$T/remote/inbound/new/") ;;
	"pull scfgate") set -- "$@" $(measure "$build/scfgate" transfer --config cfg-pull.xml --once) ;;
	"pull sftp") set -- "$@" $(measure sftp $SSH_OPTS -q -b batch-pull "$USER_NAME@127.0.0.1") ;;
	"pull scp") set -- "$@" $(measure scp $SSH_OPTS -q -r "$USER_NAME@127.0.0.1:$T/remote/outbound/new/." dst/) ;;
	esac
	if [ "$1" = push ]; then got=$(ls remote/inbound/new | wc -l)
	elif [ "$2" = scfgate ]; then got=$(ls local/outbound/new | wc -l)
	else got=$(ls dst | wc -l); fi
	[ "$5" -eq 0 ] && [ "$got" -eq "$count" ] || { echo "$1 with $2 moved $got of $count (rc $5, see cmd.log)" >&2; return 1; }
	echo "$3 $4"
}
median() { "$PY" -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
rate() { "$PY" -c "print('%.0f' % ($1 / $2))"; }

# the baselines' batch files: per file what a careful script would do
# with each tool's commands, nothing more
mkbatches() {
	for f in src/*; do
		b=${f#src/}
		printf 'put %s %s\nrename %s %s\n' "$f" "$T/remote/inbound/tmp/$b.part" \
			"$T/remote/inbound/tmp/$b.part" "$T/remote/inbound/new/$b"
	done >batch-push
	for f in src/*; do
		b=${f#src/}
		printf 'get %s %s\nrm %s\n' "$T/remote/outbound/new/$b" "$T/dst/$b" "$T/remote/outbound/new/$b"
	done >batch-pull
}

R=${SCFGATE_BENCH_TRANSFER_REPEAT:-3}
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average at the start: $(load); $R runs per figure (median), the tools taking turns"
count=$N
rm -rf src && records "$N" src && mkbatches
for dir in push pull; do
	for tool in scfgate sftp scp; do eval "t_$tool="; done
	r=0
	while [ $r -lt "$R" ]; do
		for tool in scfgate sftp scp; do
			fresh $dir
			out=$(run $dir $tool)
			set -- $out
			eval "t_$tool=\"\$t_$tool $1\""
			[ $tool = scfgate ] && eval "rss_$dir=$2"
		done
		r=$((r + 1))
	done
	s_rate=$(rate "$N" "$(median $t_scfgate)")
	f_rate=$(rate "$N" "$(median $t_sftp)")
	c_rate=$(rate "$N" "$(median $t_scp)")
	best=$f_rate
	[ "$c_rate" -gt "$best" ] && best=$c_rate
	if [ $dir = push ]; then
		echo "push of $N records of 1.5 KiB over SFTP on loopback (one connection each):"
		echo "  scfgate transfer --once  $s_rate records/s (each: upload to tmp/, rename into new/, then the local file to sent/; no flush needed)"
		echo "  sftp -b                  $f_rate records/s (each: upload to tmp/, rename; nothing moved aside locally)"
		echo "  scp -r                   $c_rate records/s (straight into new/: a partial file visible; nothing moved aside)"
	else
		echo "pull of $N records of 1.5 KiB over SFTP on loopback (one connection each):"
		echo "  scfgate transfer --once  $s_rate records/s (each: download, checked against the local queue, via tmp/ into new/; per 64: one syncfs, one fsync of new/, then the remote removals)"
		echo "  sftp -b                  $f_rate records/s (each: download straight to its name, remote rm at once; no flush, a partial file visible)"
		echo "  scp -r                   $c_rate records/s (download straight to its name; no flush, no remote removal)"
	fi
	echo "  ratio to the better: $("$PY" -c "print('%.2f' % ($s_rate / $best))") (goal: at least 0.80)"
done
M=$((N * 10))
rm -rf src && records "$M" src
count=$M
for dir in push pull; do
	fresh $dir
	out=$(run $dir scfgate)
	set -- $out
	eval "echo \"peak RSS of scfgate transfer, $dir: \$rss_$dir KiB at $N records, $2 KiB at $M records\"" \
		"\"($(rate "$M" "$1") records/s) (goal: flat)\""
done
echo "load average at the end: $(load)"
