#!/bin/sh
# spool_init_test.sh SCFGATE SOURCE_DIR: `scfgate spool init` makes both
# queues of a half's spool root with their owners and modes, lets the
# configured transport group write the receiving queue's new/ and
# nothing else, is idempotent, and refuses a root that is not a spool or
# is a symbolic link.
set -u
bin=$1
src=$2
keys=$src/tests/data/keys
t=$(mktemp -d /tmp/scfgate-init-XXXXXX)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
subdirs="tmp new cur done failed hold state dismissed"

# config HALF ROOT [GROUP]: $t/HALF.xml with its spool at ROOT
config() {
	h=$1 root=$2 group=${3:-}
	other=oms; [ "$h" = oms ] && other=scf
	cp "$keys/test-$h.key" "$t/etc/$h.key"
	cp "$keys/test-$other.pub" "$t/etc/$other.pub"
	chmod 600 "$t/etc/$h.key"
	"$bin" config example --half "$h" |
		sed -e "s#<root>/var/spool/scfgate</root>#<root>$root</root>#" \
			-e "s#/etc/scfgate#$t/etc#g" >"$t/$h.xml" || fail "config example"
	if [ -n "$group" ]; then
		sed -i "s#</producer>#</producer><transportGroup>$group</transportGroup>#" "$t/$h.xml"
	fi
}
mkdir -p "$t/etc"
echo token >"$t/etc/scf.token"
echo user:pw >"$t/etc/cartegraph.cred"
chmod 600 "$t/etc/scf.token" "$t/etc/cartegraph.cred"

# mode PATH "OWNER GROUP MODE"
mode() {
	got=$(stat -c '%U %G %a' "$1")
	[ "$got" = "$2" ] || fail "$1: $got, not $2"
}

# The directories follow the root's owner and group (as root: a service
# user the test is not).
mkdir "$t/a"
if [ "$(id -u)" -eq 0 ]; then
	chown nobody:nogroup "$t/a"
fi
owner=$(stat -c '%U %G' "$t/a")
config scf "$t/a"
"$bin" spool init --config "$t/scf.xml" >"$t/out" 2>"$t/err" || fail "init: $(cat "$t/err")"
grep -q "inbound/new/ (the receiving queue) writable by the owner only" "$t/out" ||
	fail "init output: $(cat "$t/out")"
mode "$t/a/state" "$owner 750"
for q in outbound inbound; do
	mode "$t/a/$q" "$owner 750"
	for d in $subdirs; do mode "$t/a/$q/$d" "$owner 750"; done
done
# Idempotent: a second run keeps what is there and brings a drifted mode back.
echo x >"$t/a/outbound/new/keep"
chmod 777 "$t/a/outbound/cur"
"$bin" spool init --config "$t/scf.xml" >/dev/null 2>"$t/err" || fail "second init: $(cat "$t/err")"
mode "$t/a/outbound/cur" "$owner 750"
[ "$(cat "$t/a/outbound/new/keep")" = x ] || fail "init touched a file in new/"
"$bin" spool ls --config "$t/scf.xml" >/dev/null 2>"$t/err" || fail "spool ls after init: $(cat "$t/err")"

# A transport group: the receiving queue (outbound for the OMS half) is
# entered by the group and its new/ written by it (set-group-id, so what
# the transport writes keeps the group); nothing else changes.
grp=$(id -gn)
mkdir "$t/b"
[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$t/b"
config oms "$t/b" "$grp"
"$bin" spool init --config "$t/oms.xml" >"$t/out" 2>"$t/err" || fail "init oms: $(cat "$t/err")"
grep -q "outbound/new/ (the receiving queue) writable by group $grp (mode 2770)" "$t/out" ||
	fail "init oms output: $(cat "$t/out")"
u=${owner% *}
mode "$t/b/outbound" "$u $grp 750"
mode "$t/b/outbound/new" "$u $grp 2770"
for d in tmp cur done failed hold state dismissed; do mode "$t/b/outbound/$d" "$owner 750"; done
mode "$t/b/inbound" "$owner 750"
for d in $subdirs; do mode "$t/b/inbound/$d" "$owner 750"; done
"$bin" config check "$t/oms.xml" 2>/dev/null | grep -q "^  transport group: $grp\$" ||
	fail "config check does not show the transport group"

# Refusals: a group this host does not have; a root holding other files
# (nothing is created in it); a root that is a symbolic link; a queue
# directory that is one; --root instead of a configuration.
config oms "$t/b" no-such-group-xyz
"$bin" spool init --config "$t/oms.xml" >/dev/null 2>"$t/err"
[ $? -eq 2 ] || fail "unknown group accepted"
grep -q "<transportGroup> no-such-group-xyz is not a group on this host" "$t/err" ||
	fail "unknown group message: $(cat "$t/err")"
mkdir "$t/c"
echo notes >"$t/c/notes.txt"
config scf "$t/c"
"$bin" spool init --config "$t/scf.xml" >/dev/null 2>"$t/err"
[ $? -eq 1 ] || fail "a root holding other files was accepted"
grep -q "$t/c is not a spool root: it holds 'notes.txt'" "$t/err" || fail "not a spool: $(cat "$t/err")"
[ ! -e "$t/c/outbound" ] && [ ! -e "$t/c/inbound" ] || fail "init created queues in a foreign root"
ln -s "$t/a" "$t/link"
config scf "$t/link"
"$bin" spool init --config "$t/scf.xml" >/dev/null 2>"$t/err"
[ $? -eq 1 ] || fail "a symbolic link root was accepted"
grep -q "$t/link is a symbolic link" "$t/err" || fail "symlink root: $(cat "$t/err")"
mkdir "$t/d" "$t/elsewhere"
ln -s "$t/elsewhere" "$t/d/outbound"
config scf "$t/d"
"$bin" spool init --config "$t/scf.xml" >/dev/null 2>"$t/err"
[ $? -eq 1 ] || fail "a symbolic link queue was accepted"
grep -q "$t/d/outbound: exists and is a symbolic link or not a directory" "$t/err" ||
	fail "symlink queue: $(cat "$t/err")"
[ -z "$(ls -A "$t/elsewhere")" ] || fail "init wrote through a symbolic link"
"$bin" spool init --root "$t/a" >/dev/null 2>"$t/err"
[ $? -eq 2 ] || fail "init --root accepted"

# tools/systemd/scfgate.tmpfiles makes the same queues at boot (both
# queues and their new/, 0750 scfgate:scfgate), and a later boot leaves
# what spool init gave the receiving queue.
if command -v systemd-tmpfiles >/dev/null && command -v systemd-sysusers >/dev/null; then
	r=$t/sysroot
	mkdir -p "$r/etc"
	users=$src/tools/systemd/scfgate.sysusers
	if [ "$(id -u)" -ne 0 ]; then
		# Only root may give a directory to another user: here the
		# sysroot's scfgate user and group get this user's ids (the same
		# entry otherwise), so what tmpfiles chowns to is allowed and
		# everything below is checked as it is as root.
		{
			echo "g scfgate $(id -g)"
			sed "s/^u scfgate - /u scfgate $(id -u):$(id -g) /" "$users"
		} >"$t/sysusers.conf"
		grep -q "^u scfgate $(id -u):" "$t/sysusers.conf" || fail "no 'u scfgate -' entry in $users"
		users=$t/sysusers.conf
	fi
	systemd-sysusers --root="$r" "$users" >"$t/err" 2>&1 || fail "systemd-sysusers: $(cat "$t/err")"
	tmpf=$src/tools/systemd/scfgate.tmpfiles
	systemd-tmpfiles --root="$r" --create "$tmpf" >"$t/err" 2>&1 || fail "tmpfiles: $(cat "$t/err")"
	ug="$(grep '^scfgate:' "$r/etc/passwd" | cut -d: -f3) $(grep '^scfgate:' "$r/etc/group" | cut -d: -f3)"
	for d in "" /outbound /outbound/new /inbound /inbound/new; do
		got=$(stat -c '%u %g %a' "$r/var/spool/scfgate$d")
		[ "$got" = "$ug 750" ] || fail "tmpfiles: /var/spool/scfgate$d is $got, not $ug 750"
	done
	config scf "$r/var/spool/scfgate" "$grp"
	"$bin" spool init --config "$t/scf.xml" >/dev/null 2>"$t/err" || fail "init after tmpfiles: $(cat "$t/err")"
	gid=$(getent group "$grp" | cut -d: -f3)
	systemd-tmpfiles --root="$r" --create "$tmpf" >"$t/err" 2>&1 || fail "tmpfiles again: $(cat "$t/err")"
	got=$(stat -c '%u %g %a' "$r/var/spool/scfgate/inbound/new")
	[ "$got" = "${ug% *} $gid 2770" ] || fail "a boot took back inbound/new: $got"
	got=$(stat -c '%u %g %a' "$r/var/spool/scfgate/outbound/done")
	[ "$got" = "$ug 750" ] || fail "outbound/done after init: $got"
fi
echo ok
