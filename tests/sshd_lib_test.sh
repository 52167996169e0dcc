#!/bin/sh
# sshd_lib_test.sh SRCDIR: tests/sshd_lib.sh when the port it chose is
# taken before sshd binds it (another test's server, or an outgoing
# connection's source port, on a machine running tests in parallel):
#   - a listener of someone else on the chosen port: start_sshd moves to
#     another port, and what listens on PORT then is this sshd (its host
#     key), not the other listener;
#   - "same-port" (a restart the clients are configured for): the port
#     held for a second, then released: sshd starts on that same port.
# Exit 77 (skipped) only when no sshd is installed.
set -u
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SRC=$1
T=$(mktemp -d /tmp/scfgate-sshd-lib.XXXXXX)
SSHD_PID=
HOLD_PID=
fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/sshd.log" ] && sed 's/^/sshd: /' "$T/sshd.log" >&2
	exit 1
}
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -x /usr/sbin/sshd ] || { echo "SKIP: /usr/sbin/sshd not installed" >&2; exit 77; }
. "$SRC/tests/sshd_lib.sh"
sshd_rundir
cd "$T" || exit 1
sshd_keys
cp user_key.pub authorized_keys && chmod 600 authorized_keys

# hold PORT SECONDS: another process listens on 127.0.0.1:PORT for that
# long (it answers a connection with a line that is no SSH banner)
hold() {
	"$PY" - "$1" "$2" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
open("held", "w").close()
s.settimeout(0.1)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        c, _ = s.accept()
        c.sendall(b"not sshd\r\n")
        c.close()
    except socket.timeout:
        pass
PY
	HOLD_PID=$!
	i=0
	while [ ! -e held ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "could not hold port $1"
		sleep 0.05
	done
	rm -f held
}
# the host key the server on PORT offers, as "TYPE BASE64"
offered() {
	ssh-keyscan -T 5 -t ed25519 -p "$PORT" 127.0.0.1 2>/dev/null | awk '{print $2, $3}'
}
mine=$(cut -d' ' -f1,2 host_key.pub)

sshd_config
taken=$PORT
hold "$taken" 30
start_sshd
[ "$PORT" != "$taken" ] || fail "sshd claims port $PORT, which another process holds"
kill -0 "$SSHD_PID" 2>/dev/null || fail "start_sshd returned without a running sshd"
[ "$(offered)" = "$mine" ] || fail "what listens on port $PORT is not this sshd: '$(offered)'"
grep -q "Address already in use" sshd.log || fail "the taken port was not met"
echo "ok - a taken port: sshd moved from $taken to $PORT, and it is this sshd there"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=

# a restart on the same port, held by another process for a second
kill "$SSHD_PID"
wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
hold "$PORT" 1
before=$PORT
start_sshd same-port
[ "$PORT" = "$before" ] || fail "same-port: sshd moved from $before to $PORT"
[ "$(offered)" = "$mine" ] || fail "same-port: what listens on port $PORT is not this sshd"
echo "ok - same-port: sshd started on port $PORT once it was free"
