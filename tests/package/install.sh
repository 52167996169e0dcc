#!/bin/sh
# tests/package/install.sh DIR: install test of the Debian packages that
# `tools/run package` built into DIR (scfgate_*.deb, scfgate-sim_*.deb).
# Each package is unpacked into a fresh root (dpkg -x), and the root is
# checked: the files and their modes, the maintainer scripts (the system
# user and the spool are made, the units are neither enabled nor started),
# the sysusers.d and tmpfiles.d entries applied to that root with
# systemd-sysusers and systemd-tmpfiles (the user, its home, the spool's
# owner and mode), the units with systemd-analyze verify, and that the
# unpacked programs run.  On demand, not in the default ctest run: it
# needs the built packages.
set -eu
dir=${1:?usage: install.sh DIR}
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "not ok - $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

deb=$(ls "$dir"/scfgate_*.deb)
sim=$(ls "$dir"/scfgate-sim_*.deb)
version=$(dpkg-deb -f "$deb" Version)
root=$work/root
mkdir -p "$root"
dpkg -x "$deb" "$root"
dpkg -x "$sim" "$root"
dpkg-deb -c "$deb" >"$work/contents"
dpkg-deb -c "$sim" >>"$work/contents"

# Files and modes (octal mode, owner as packed: root).
check() { # PATH MODE
	[ -e "$root$1" ] || fail "$1 is not in the package"
	m=$(stat -c %a "$root$1")
	[ "$m" = "$2" ] || fail "$1 has mode $m, not $2"
	o=$(awk -v p=".$1" '$6 == p { print $2 }' "$work/contents")
	[ "$o" = "root/root" ] || fail "$1 is owned by '$o', not root/root"
}
check /usr/bin/scfgate 755
check /usr/bin/oms-sim 755
check /usr/bin/scf-sim 755
check /usr/bin/geo-sim 755
check /lib/systemd/system/scfgate-scf.service 644
check /lib/systemd/system/scfgate-oms.service 644
for h in scf oms; do
	check "/lib/systemd/system/scfgate-$h@.service" 644
	check "/lib/systemd/system/scfgate-$h-once@.service" 644
	check "/lib/systemd/system/scfgate-$h@.timer" 644
done
check /lib/systemd/system/scfgate-transfer.service 644
check /lib/systemd/system/scfgate-transfer@.service 644
check /lib/systemd/system/scfgate-transfer-once@.service 644
check /lib/systemd/system/scfgate-transfer@.timer 644
check /usr/lib/sysusers.d/scfgate.conf 644
check /usr/lib/tmpfiles.d/scfgate.conf 644
check /usr/share/doc/scfgate/examples/scf.xml 644
check /usr/share/doc/scfgate/examples/oms.xml 644
check /usr/share/doc/scfgate/copyright 644
check /usr/share/man/man1/scfgate.1.gz 644
check /usr/share/man/man5/scfgate.xml.5.gz 644
check /usr/share/man/man7/scfgate-spool.7.gz 644
check /usr/share/bash-completion/completions/scfgate 644
check /usr/share/doc/scfgate-sim/copyright 644
n=$(ls "$root"/usr/share/scfgate/schemas/*.xsd 2>/dev/null | wc -l)
[ "$n" -ge 1 ] || fail "no schemas"
ok "files and modes ($n schemas)"
# The manual pages render, and the completion loads and completes.
for p in man1/scfgate.1 man5/scfgate.xml.5 man7/scfgate-spool.7; do
	zcat "$root/usr/share/man/$p.gz" | mandoc -Tlint -W warning >"$work/lint" 2>&1 && [ ! -s "$work/lint" ] ||
		{ cat "$work/lint" >&2; fail "$p does not render cleanly"; }
done
words=$(bash -c '. "$1"; COMP_WORDS=(scfgate sp); COMP_CWORD=1; _scfgate; echo "${COMPREPLY[*]}"' _ \
	"$root/usr/share/bash-completion/completions/scfgate")
[ "$words" = spool ] || fail "the installed completion offers '$words' for 'scfgate sp'"
ok "manual pages (mandoc -Tlint) and bash completion"
# The examples are the program's own (`config example`), whole XML.
grep -q '<scfgate half="scf"' "$root/usr/share/doc/scfgate/examples/scf.xml" || fail "scf.xml example"
grep -q '<scfgate half="oms"' "$root/usr/share/doc/scfgate/examples/oms.xml" || fail "oms.xml example"
if command -v xmllint >/dev/null; then
	xmllint --noout "$root"/usr/share/doc/scfgate/examples/*.xml || fail "examples are not well-formed"
fi
ok "example configurations"

# Maintainer scripts: the user, then the spool, are made on installation;
# the units are not enabled (no configuration yet: deb-systemd-invoke then
# does not start them either), an upgrade restarts them, a removal stops
# them.
dpkg-deb -e "$deb" "$work/control"
post=$work/control/postinst
[ -f "$post" ] || fail "no postinst"
grep -q 'systemd-sysusers.*scfgate.conf' "$post" || fail "postinst does not create the user"
grep -q 'systemd-tmpfiles.*scfgate.conf' "$post" || fail "postinst does not create the spool"
u=$(grep -n 'systemd-sysusers' "$post" | head -1 | cut -d: -f1)
t=$(grep -n 'systemd-tmpfiles' "$post" | head -1 | cut -d: -f1)
[ "$u" -lt "$t" ] || fail "postinst makes the spool before the user that owns it"
for h in scf oms; do
	# debhelper's enabling snippet enables on first installation; the
	# other one only keeps an operator's enablement across upgrades.
	grep -q "deb-systemd-helper debian-installed 'scfgate-$h.service'" "$post" ||
		fail "postinst enables scfgate-$h.service on installation"
done
if grep -q 'new installations run enable' "$post"; then fail "postinst enables a unit"; fi
# The templates (one instance per organization) and the timers are the
# operator's to enable, for each organization: no maintainer script
# names them.
for s in postinst prerm postrm; do
	[ -f "$work/control/$s" ] || continue
	if grep -qE 'scfgate-(scf|oms)(-once)?@' "$work/control/$s"; then
		fail "$s acts on a templated unit"
	fi
done
grep -q '_dh_action=restart' "$post" || fail "postinst does not restart the units on upgrade"
grep -q "deb-systemd-invoke stop .*scfgate-oms.service.*scfgate-scf.service" "$work/control/prerm" ||
	fail "prerm does not stop the units on removal"
ok "maintainer scripts: user before spool, units not enabled, restarted on upgrade, stopped on removal, templates untouched"

# The sysusers.d and tmpfiles.d entries, applied to the unpacked root.
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/scfgate.conf" >"$work/sysusers.out" 2>&1 ||
	{ cat "$work/sysusers.out" >&2; fail "systemd-sysusers"; }
line=$(grep '^scfgate:' "$root/etc/passwd") || fail "no scfgate user in passwd"
uid=$(echo "$line" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "scfgate is not a system user (uid $uid)"
[ "$(echo "$line" | cut -d: -f6)" = /var/spool/scfgate ] || fail "home: $line"
case $(echo "$line" | cut -d: -f7) in */nologin) ;; *) fail "scfgate can log in: $line" ;; esac
grep -q '^scfgate:' "$root/etc/group" || fail "no scfgate group"
ok "system user scfgate (uid $uid, home /var/spool/scfgate, no login)"
# Only root may give the spool to scfgate: any other user (tools/run
# package as a developer) runs systemd-tmpfiles under fakeroot, which
# tools/run package installs, and reads the owner back in its session.
if [ "$(id -u)" -eq 0 ]; then
	fr=
else
	: >"$work/fakeroot"
	fr="fakeroot -i $work/fakeroot -s $work/fakeroot"
fi
$fr systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/scfgate.conf" >"$work/tmp.out" 2>&1 ||
	{ cat "$work/tmp.out" >&2; fail "systemd-tmpfiles"; }
[ -d "$root/var/spool/scfgate" ] || fail "no spool directory"
[ "$(stat -c %a "$root/var/spool/scfgate")" = 750 ] || fail "spool mode $(stat -c %a "$root/var/spool/scfgate")"
got=$($fr stat -c %u:%g "$root/var/spool/scfgate")
[ "$got" = "$uid:$(grep '^scfgate:' "$root/etc/group" | cut -d: -f3)" ] || fail "spool owner $got"
ok "spool /var/spool/scfgate 0750 scfgate:scfgate"

# The installed units name the installed binary and load.
for h in scf oms; do
	unit=$root/lib/systemd/system/scfgate-$h.service
	grep -qx "ExecStart=/usr/bin/scfgate $h --config /etc/scfgate/$h.xml" "$unit" ||
		fail "scfgate-$h.service: ExecStart"
	grep -qx "ExecStart=/usr/bin/scfgate $h --config /etc/scfgate/%i/$h.xml" \
		"$root/lib/systemd/system/scfgate-$h@.service" || fail "scfgate-$h@.service: ExecStart"
	grep -qx "ExecStart=/usr/bin/scfgate $h --once --config /etc/scfgate/%i/$h.xml" \
		"$root/lib/systemd/system/scfgate-$h-once@.service" || fail "scfgate-$h-once@.service: ExecStart"
done
u=$root/lib/systemd/system/scfgate-transfer
grep -qx "ExecStart=/usr/bin/scfgate transfer --config /etc/scfgate/oms.xml" "$u.service" ||
	fail "scfgate-transfer.service: ExecStart"
grep -qx "ExecStart=/usr/bin/scfgate transfer --config /etc/scfgate/%i/oms.xml" "$u@.service" ||
	fail "scfgate-transfer@.service: ExecStart"
grep -qx "ExecStart=/usr/bin/scfgate transfer --once --config /etc/scfgate/%i/oms.xml" "$u-once@.service" ||
	fail "scfgate-transfer-once@.service: ExecStart"
if command -v systemd-analyze >/dev/null; then
	# Verified against this host's systemd (the unpacked root has no
	# sysinit.target or /bin/kill), with ExecStart= pointing at the
	# unpacked binary instead of /usr/bin/scfgate, which is not installed
	# here; the ExecStart= lines themselves were checked above.
	# Documentation= names the package's own pages, checked above too.
	mkdir -p "$work/units"
	# The templates as the instance riverton (one organization).
	for h in scf oms; do
		for u in "scfgate-$h.service" "scfgate-$h@.service=scfgate-$h@riverton.service" \
			"scfgate-$h-once@.service=scfgate-$h-once@riverton.service" \
			"scfgate-$h@.timer=scfgate-$h@riverton.timer"; do
			src=${u%%=*} dst=${u#*=}
			sed "s|^ExecStart=/usr/bin/scfgate |ExecStart=$root/usr/bin/scfgate |" \
				"$root/lib/systemd/system/$src" >"$work/units/$dst"
		done
	done
	# scfgate transfer: the plain unit, the template and its timer with
	# the oneshot unit the timer starts, as the same instance.
	for u in scfgate-transfer.service "scfgate-transfer@.service=scfgate-transfer@riverton.service" \
		"scfgate-transfer-once@.service=scfgate-transfer-once@riverton.service" \
		"scfgate-transfer@.timer=scfgate-transfer@riverton.timer"; do
		src=${u%%=*} dst=${u#*=}
		sed "s|^ExecStart=/usr/bin/scfgate |ExecStart=$root/usr/bin/scfgate |" \
			"$root/lib/systemd/system/$src" >"$work/units/$dst"
	done
	n=$(ls "$root"/lib/systemd/system/ | wc -l)
	[ "$(ls "$work/units" | wc -l)" -eq "$n" ] ||
		fail "the package has $n units, $(ls "$work/units" | wc -l) verified: $(ls "$root"/lib/systemd/system/)"
	systemd-analyze verify --man=no "$work"/units/* >"$work/verify" 2>&1 ||
		{ cat "$work/verify" >&2; fail "systemd-analyze verify"; }
	[ ! -s "$work/verify" ] || { cat "$work/verify" >&2; fail "systemd-analyze verify warns"; }
	ok "systemd-analyze verify: $(ls "$work/units" | wc -l) units ($(cd "$work/units" && echo *))"
else
	echo "# systemd-analyze is not installed: units not verified"
fi

# The unpacked programs run.
out=$("$root/usr/bin/scfgate" --version) || fail "scfgate --version"
[ "$out" = "scfgate $version" ] || fail "scfgate --version says '$out', the package is $version"
ok "scfgate --version: $out"
for s in oms-sim scf-sim geo-sim; do
	"$root/usr/bin/$s" --help >/dev/null 2>&1 || fail "$s --help"
done
ok "simulators run (--help)"
