#!/bin/sh
# transfer_rsync.sh SRCDIR: the rsync recipe of docs/operations.md ("With
# rsync instead"), tools/rsync/scfgate-rsync, which the document shows
# verbatim (checked here), run against a real OpenSSH server on a loopback
# port whose key is locked to rrsync, as the recipe's peer account is:
#   - pull: every record arrives byte-identical in the local new/ and is
#     removed on the peer; a FIFO, a symbolic link, a file over 4 MiB and
#     a name that is not a record stay there, not pulled
#   - push: the peer's queue does not exist yet and is made; every record
#     arrives byte-identical in its new/, nothing stays in its tmp/, the
#     local new/ is empty and sent/ holds every record
#   - a re-send onto a copy the peer still has leaves both alone; once the
#     peer took it, it goes
#   - a wrong pinned host key moves nothing
# Exit 77 (skipped) only when sshd, rsync or rrsync is missing.
set -u
# the system interpreter: a wrapper in PATH may cost seconds per start
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SRC=$1
T=$(mktemp -d /tmp/scfgate-rsync.XXXXXX)
SSHD_PID=
fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/sshd.log" ] && sed 's/^/sshd: /' "$T/sshd.log" >&2
	[ -f "$T/log" ] && sed 's/^/rsync: /' "$T/log" >&2
	exit 1
}
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
for p in /usr/sbin/sshd /usr/bin/rsync /usr/bin/rrsync; do
	if [ ! -x "$p" ]; then
		echo "SKIP: $p not installed (tools/run setup installs it)" >&2
		exit 77
	fi
done
. "$SRC/tests/sshd_lib.sh"
sshd_rundir
RECIPE=$SRC/tools/rsync/scfgate-rsync

# the document shows the script exactly
"$PY" - "$SRC/docs/operations.md" "$RECIPE" <<'PY' || fail "docs/operations.md does not show $RECIPE verbatim"
import sys
doc = open(sys.argv[1]).read()
begin = "<!-- tools/rsync/scfgate-rsync, verbatim -->\n```sh\n"
i = doc.index(begin) + len(begin)
j = doc.index("```\n", i)
sys.exit(0 if doc[i:j] == open(sys.argv[2]).read() else 1)
PY

cd "$T" || exit 1
sshd_keys
mkdir -p remote
# the peer account's key can run rrsync under remote/ and nothing else
echo "restrict,command=\"/usr/bin/rrsync $T/remote\" $(cat user_key.pub)" >authorized_keys
chmod 600 authorized_keys
sshd_config
start_sshd
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 host_key.pub)" >known_good
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 other_key.pub)" >known_bad

# the peer's outbound with records and traps; its inbound does not exist
mkdir -p local/outbound/new local/outbound/tmp local/inbound/new remote/outbound/new expect_out expect_in
"$PY" - <<'PY' || fail "cannot make the records"
import os
for n in range(1, 21):
    b = os.urandom(n * 977 + 1)
    for d in ("expect_out", "remote/outbound/new"):
        with open("%s/%020d-scf.xml" % (d, n), "wb") as f:
            f.write(b)
for n in range(1, 16):
    b = os.urandom(n * 1531 + 3)
    for d in ("expect_in", "local/inbound/new"):
        with open("%s/%020d-oms.xml" % (d, n), "wb") as f:
            f.write(b)
PY
mkfifo "remote/outbound/new/$(printf '%020d-scf.xml' 101)"
ln -s /etc/passwd "remote/outbound/new/$(printf '%020d-scf.xml' 102)"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero >"remote/outbound/new/$(printf '%020d-scf.xml' 103)"
printf 'x' >remote/outbound/new/notarecord.txt

run() { # KNOWN_HOSTS_FILE
	PEER=$(id -un)@127.0.0.1 PORT=$PORT KEY=$T/user_key KNOWN=$1 SPOOL=$T/local \
		sh "$RECIPE" >"$T/log" 2>&1
}
run "$T/known_bad" && fail "a wrong host key was accepted"
[ -z "$(ls local/outbound/new)" ] || fail "pulled despite a wrong host key"
[ -d remote/inbound ] && fail "pushed despite a wrong host key"

run "$T/known_good" || fail "the recipe failed"
same() { # $1 (expected) against $2: exactly the same files, byte-identical
	"$PY" - "$1" "$2" <<'PY'
import os, sys
exp, got = sys.argv[1], sys.argv[2]
a, b = sorted(os.listdir(exp)), sorted(os.listdir(got))
if a != b:
    sys.exit("%s: %s, not %s" % (got, b, a))
for n in a:
    if open(os.path.join(exp, n), "rb").read() != open(os.path.join(got, n), "rb").read():
        sys.exit("%s/%s differs" % (got, n))
PY
}
same expect_out local/outbound/new || fail "pull"
[ -z "$(ls -A local/outbound/tmp)" ] || fail "files left in the local tmp/"
for s in 101 102 103; do
	name=$(printf '%020d-scf.xml' $s)
	[ -e "remote/outbound/new/$name" ] || [ -L "remote/outbound/new/$name" ] || fail "remote $name was touched"
done
[ -e remote/outbound/new/notarecord.txt ] || fail "notarecord.txt was touched"
[ "$(ls remote/outbound/new | wc -l)" -eq 4 ] || fail "pulled records left on the peer"
same expect_in remote/inbound/new || fail "push"
[ -d remote/inbound/tmp ] || fail "the peer's tmp/ not made"
[ -z "$(ls -A remote/inbound/tmp)" ] || fail "files left in the peer's tmp/"
[ -z "$(ls local/inbound/new)" ] || fail "pushed records left in new/"
same expect_in local/inbound/sent || fail "sent/"

# a re-send onto a copy the peer has not taken: both stay as they are
name=$(printf '%020d-oms.xml' 5)
printf 'changed' >"local/inbound/new/$name"
run "$T/known_good" || fail "the second run failed"
[ "$(cat "local/inbound/new/$name")" = changed ] || fail "a re-send onto a waiting copy left new/"
cmp -s "expect_in/$name" "remote/inbound/new/$name" || fail "a waiting copy was replaced"
rm "remote/inbound/new/$name"
run "$T/known_good" || fail "the third run failed"
[ "$(cat "remote/inbound/new/$name")" = changed ] || fail "the re-send did not go once the copy was taken"
[ -e "local/inbound/new/$name" ] && fail "the re-sent record stayed in new/"
echo "transfer_rsync: ok"
