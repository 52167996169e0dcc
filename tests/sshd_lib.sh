# tests/sshd_lib.sh: a throw-away OpenSSH server on a loopback port, shared
# by tests/transfer_sftp.sh and tests/transfer_rsync.sh.  Sourced (POSIX
# sh); the caller sets T (its scratch directory, the current directory
# when sshd_keys runs), PY (a python3) and SSHD_PID= (its cleanup kills
# it), and defines fail MESSAGE (exits non-zero).

# sshd insists on its privilege separation directory when started as root
sshd_rundir() {
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
		mkdir -p -m 0755 /run/sshd || fail "cannot make /run/sshd"
	fi
}

# host_key (the server's), other_key (a host key the client must refuse)
# and user_key (the client's, mode 0600) in the current directory
sshd_keys() {
	ssh-keygen -q -t ed25519 -N '' -C host -f host_key || fail "ssh-keygen host"
	ssh-keygen -q -t ed25519 -N '' -C other -f other_key || fail "ssh-keygen other"
	ssh-keygen -q -t ed25519 -N '' -C user -f user_key || fail "ssh-keygen user"
	chmod 600 user_key
}

# PORT, a free loopback port (the kernel's choice for a socket bound to
# port 0, closed again: free now, not reserved)
sshd_pick_port() {
	PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
}

# $T/sshd_config for PORT from the lines kept in $T/sshd_config.extra
sshd_write_config() {
	cat >"$T/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
CFG
	cat "$T/sshd_config.extra" >>"$T/sshd_config"
	echo "LogLevel ERROR" >>"$T/sshd_config"
}

# PORT, a free loopback port, and $T/sshd_config for it: the host key,
# $T/authorized_keys (which the caller writes, mode 0600), public keys
# only; each argument is one more line (e.g. "Subsystem sftp internal-sftp").
# start_sshd may move to another port: use PORT only after it.
sshd_config() {
	: >"$T/sshd_config.extra"
	for line in "$@"; do
		echo "$line" >>"$T/sshd_config.extra"
	done
	sshd_pick_port
	sshd_write_config
}

# Start sshd (its log appended to $T/sshd.log) and wait until it listens.
# Listening is proven by its PidFile naming this very process: sshd
# writes it only after its socket is bound.  A connection that succeeds
# proves nothing: another test's server may hold the port, or a client
# may meet itself there (a loopback connect whose source port is the port
# it calls).  The port is free when chosen, not reserved: another test
# binding it, or an outgoing connection taking it as its source port,
# before sshd binds makes sshd exit with "Address already in use"; that is
# retried, on a newly chosen port, or with "same-port" (a restart the
# clients are configured for) on the same one until it is free again.
start_sshd() {
	tries=0
	while :; do
		rm -f "$T/sshd.pid"
		: >"$T/sshd.start"
		/usr/sbin/sshd -D -e -f "$T/sshd_config" >>"$T/sshd.start" 2>&1 &
		SSHD_PID=$!
		i=0
		while kill -0 "$SSHD_PID" 2>/dev/null; do
			if [ "$(cat "$T/sshd.pid" 2>/dev/null)" = "$SSHD_PID" ]; then
				cat "$T/sshd.start" >>"$T/sshd.log"
				return 0
			fi
			i=$((i + 1))
			[ $i -gt 100 ] && fail "sshd does not listen on port $PORT"
			sleep 0.1
		done
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
		cat "$T/sshd.start" >>"$T/sshd.log"
		grep -q "Address already in use" "$T/sshd.start" || fail "sshd did not start"
		tries=$((tries + 1))
		[ $tries -ge 50 ] && fail "sshd: port $PORT still taken after $tries tries"
		echo "sshd: port $PORT taken before sshd bound it (try $tries)" >&2
		if [ "${1:-}" != same-port ]; then
			sshd_pick_port
			sshd_write_config
		fi
		sleep 0.2
	done
}
