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

# PORT, a free loopback port, and $T/sshd_config for it: the host key,
# $T/authorized_keys (which the caller writes, mode 0600), public keys
# only; each argument is one more line (e.g. "Subsystem sftp internal-sftp")
sshd_config() {
	PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
	for line in "$@"; do
		echo "$line" >>"$T/sshd_config"
	done
	echo "LogLevel ERROR" >>"$T/sshd_config"
}

# start sshd (its log appended to $T/sshd.log) and wait until it listens
start_sshd() {
	/usr/sbin/sshd -D -e -f "$T/sshd_config" >>"$T/sshd.log" 2>&1 &
	SSHD_PID=$!
	i=0
	while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; do
		i=$((i + 1))
		kill -0 "$SSHD_PID" 2>/dev/null || fail "sshd did not start"
		[ $i -gt 50 ] && fail "sshd does not listen on port $PORT"
		sleep 0.1
	done
}
