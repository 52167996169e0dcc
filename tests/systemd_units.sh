#!/bin/sh
# systemd_units.sh ANALYZE SYSUSERS UNITDIR SYSUSERS_CONF: the systemd units
# of both halves load cleanly (systemd-analyze verify: directives, the
# ExecStart binary) and stay hardened.
#
# The plain units (scfgate-scf.service, scfgate-oms.service) are Type=notify
# units with a watchdog and a reload by SIGHUP (the halves speak sd_notify
# and re-read their configuration on SIGHUP).  The templated ones, one
# instance per organization (scfgate-scf@ORG.service), are the same with
# /etc/scfgate/ORG/HALF.xml and only /var/spool/scfgate/ORG writable; the
# timers (scfgate-scf@ORG.timer) start oneshot units
# (scfgate-scf-once@ORG.service) running `--once` with that configuration
# and spool.  Templates are verified as an instance (riverton).
#
# Hardening: systemd-analyze security rates every service at most 1.1 of
# 10 ("OK"; the plain units measured 1.1 when the templates came, and so
# did the templates), no templated service above the plain unit of its
# half, and every templated service carries each hardening line of the
# plain unit.  So a unit that gives back a protection fails this test.
# The transfer's units (scfgate-transfer.service, scfgate-transfer@ORG,
# scfgate-transfer@ORG.timer with scfgate-transfer-once@ORG) are checked
# the same way against the OMS half's plain unit.
# The sysusers.d entry is run through systemd-sysusers --dry-run against
# an empty root.
set -eu
analyze=$1 sysusers=$2 dir=$3 conf=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "not ok - $*" >&2; exit 1; }
org=riverton
max=11 # 1.1 of 10, in tenths as --threshold takes it

# exposure UNIT: the overall exposure, in tenths, or the test fails.
exposure() {
	if ! "$analyze" security --offline=true --threshold=$max "$1" >"$work/security" 2>&1; then
		grep -E '✗|Overall' "$work/security" >&2 || cat "$work/security" >&2
		fail "$(basename "$1"): exposure above $((max / 10)).$((max % 10))"
	fi
	e=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9]*\)\.\([0-9]\).*/\1\2/p' "$work/security")
	[ -n "$e" ] || { cat "$work/security" >&2; fail "$(basename "$1"): no overall exposure"; }
	echo "$e" | sed 's/^0*\(.\)/\1/'
}
tenths() { echo "$(($1 / 10)).$(($1 % 10))"; }
has() { # UNIT LINE
	grep -qxF "$2" "$1" || fail "$(basename "$1"): no $2"
}
verify() { # UNIT...
	# --man=no: the Documentation= pages are installed with the package,
	# not in this build tree (the package's install test finds them).
	"$analyze" verify --man=no "$@" >"$work/verify" 2>&1 || { cat "$work/verify" >&2; fail "verify $*"; }
	[ ! -s "$work/verify" ] || { cat "$work/verify" >&2; fail "verify warns: $*"; }
}

n=0
for h in scf oms; do
	unit=$dir/scfgate-$h.service
	verify "$unit"
	plain=$(exposure "$unit")
	echo "ok - $(basename "$unit"): exposure $(tenths "$plain") of 10"
	for line in 'Type=notify' 'NotifyAccess=main' 'ExecReload=/bin/kill -HUP $MAINPID' \
		'ReadWritePaths=/var/spool/scfgate'; do
		has "$unit" "$line"
	done
	grep -qE "^ExecStart=/[^ ]*/scfgate $h --config /etc/scfgate/$h.xml\$" "$unit" || fail "$unit: ExecStart="
	grep -qE '^WatchdogSec=[1-9]' "$unit" || fail "$unit: no WatchdogSec="
	echo "ok - $(basename "$unit"): Type=notify, WatchdogSec=, ExecReload="
	# The hardening lines of the plain unit: everything from
	# ProtectSystem= to the system-call filter.
	sed -n '/^ProtectSystem=/,/^SystemCallErrorNumber=/p' "$unit" >"$work/hardening"
	[ "$(wc -l <"$work/hardening")" -ge 25 ] || fail "$unit: hardening block not found"
	bin=$(sed -n "s|^ExecStart=\([^ ]*\) .*|\1|p" "$unit")

	# The templates, as the instance $org, in a directory of their own so
	# the timer finds the unit it starts.
	mkdir -p "$work/$h"
	for t in "scfgate-$h@" "scfgate-$h-once@"; do
		[ -f "$dir/$t.service" ] || fail "no $t.service"
		ln -s "$dir/$t.service" "$work/$h/$t$org.service"
	done
	[ -f "$dir/scfgate-$h@.timer" ] || fail "no scfgate-$h@.timer"
	ln -s "$dir/scfgate-$h@.timer" "$work/$h/scfgate-$h@$org.timer"
	verify "$work/$h/scfgate-$h@$org.service" "$work/$h/scfgate-$h-once@$org.service" \
		"$work/$h/scfgate-$h@$org.timer"
	echo "ok - scfgate-$h@$org.service, scfgate-$h-once@$org.service, scfgate-$h@$org.timer verify"
	for t in "scfgate-$h@" "scfgate-$h-once@"; do
		u=$work/$h/$t$org.service
		e=$(exposure "$u")
		[ "$e" -le "$plain" ] || fail "$t$org.service: exposure $(tenths "$e") above scfgate-$h.service's $(tenths "$plain")"
		while IFS= read -r line; do
			has "$dir/$t.service" "$line"
		done <"$work/hardening"
		has "$dir/$t.service" 'ReadWritePaths=/var/spool/scfgate/%i'
		has "$dir/$t.service" 'User=scfgate'
		if grep -q '^ReadWritePaths=/var/spool/scfgate$' "$dir/$t.service"; then
			fail "$t.service may write every organization's spool"
		fi
		echo "ok - $t$org.service: exposure $(tenths "$e") of 10, the plain unit's hardening, only /var/spool/scfgate/%i writable"
	done
	u=$dir/scfgate-$h@.service
	for line in 'Type=notify' 'NotifyAccess=main' 'ExecReload=/bin/kill -HUP $MAINPID' \
		"ExecStart=$bin $h --config /etc/scfgate/%i/$h.xml" 'WantedBy=multi-user.target'; do
		has "$u" "$line"
	done
	grep -qE '^WatchdogSec=[1-9]' "$u" || fail "$u: no WatchdogSec="
	u=$dir/scfgate-$h-once@.service
	for line in 'Type=oneshot' "ExecStart=$bin $h --once --config /etc/scfgate/%i/$h.xml"; do
		has "$u" "$line"
	done
	# Started by its timer only: no [Install], so it cannot be enabled.
	if grep -q '^\[Install\]' "$u"; then fail "$u can be enabled"; fi
	grep -qE '^TimeoutStartSec=[1-9]' "$u" || fail "$u: no TimeoutStartSec="
	u=$dir/scfgate-$h@.timer
	for line in "Unit=scfgate-$h-once@%i.service" 'WantedBy=timers.target'; do
		has "$u" "$line"
	done
	grep -qE '^OnUnitActiveSec=[1-9]' "$u" || fail "$u: no OnUnitActiveSec="
	echo "ok - scfgate-$h@.service (notify, watchdog, reload), -once@ (oneshot, --once), @.timer (starts -once@)"
	n=$((n + 1))
done
test "$n" -eq 2

# scfgate transfer: the plain unit and the template (Type=exec: it does
# not speak sd_notify), the timer and its oneshot unit; each verifies, is
# no more exposed than the OMS half's plain unit, and carries its
# hardening lines ($work/hardening, $plain and $bin of the OMS half).
unit=$dir/scfgate-transfer.service
verify "$unit"
mkdir -p "$work/transfer"
for t in scfgate-transfer@ scfgate-transfer-once@; do
	[ -f "$dir/$t.service" ] || fail "no $t.service"
	ln -s "$dir/$t.service" "$work/transfer/$t$org.service"
done
[ -f "$dir/scfgate-transfer@.timer" ] || fail "no scfgate-transfer@.timer"
ln -s "$dir/scfgate-transfer@.timer" "$work/transfer/scfgate-transfer@$org.timer"
verify "$work/transfer/scfgate-transfer@$org.service" \
	"$work/transfer/scfgate-transfer-once@$org.service" "$work/transfer/scfgate-transfer@$org.timer"
for u in "$unit" "$work/transfer/scfgate-transfer@$org.service" \
	"$work/transfer/scfgate-transfer-once@$org.service"; do
	e=$(exposure "$u")
	[ "$e" -le "$plain" ] || fail "$(basename "$u"): exposure $(tenths "$e") above scfgate-oms.service's $(tenths "$plain")"
	while IFS= read -r line; do
		has "$u" "$line"
	done <"$work/hardening"
	has "$u" 'User=scfgate'
	echo "ok - $(basename "$u"): exposure $(tenths "$e") of 10, the half's hardening"
done
for line in 'Type=exec' "ExecStart=$bin transfer --config /etc/scfgate/oms.xml" \
	'ReadWritePaths=/var/spool/scfgate' 'Restart=on-failure' 'WantedBy=multi-user.target'; do
	has "$unit" "$line"
done
u=$dir/scfgate-transfer@.service
for line in 'Type=exec' "ExecStart=$bin transfer --config /etc/scfgate/%i/oms.xml" \
	'ReadWritePaths=/var/spool/scfgate/%i' 'WantedBy=multi-user.target'; do
	has "$u" "$line"
done
if grep -q '^ReadWritePaths=/var/spool/scfgate$' "$u"; then
	fail "scfgate-transfer@.service may write every organization's spool"
fi
u=$dir/scfgate-transfer-once@.service
for line in 'Type=oneshot' "ExecStart=$bin transfer --once --config /etc/scfgate/%i/oms.xml" \
	'ReadWritePaths=/var/spool/scfgate/%i'; do
	has "$u" "$line"
done
if grep -q '^\[Install\]' "$u"; then fail "$u can be enabled"; fi
grep -qE '^TimeoutStartSec=[1-9]' "$u" || fail "$u: no TimeoutStartSec="
u=$dir/scfgate-transfer@.timer
for line in 'Unit=scfgate-transfer-once@%i.service' 'WantedBy=timers.target'; do
	has "$u" "$line"
done
grep -qE '^OnUnitActiveSec=[1-9]' "$u" || fail "$u: no OnUnitActiveSec="
echo "ok - scfgate-transfer.service, @.service (exec, restart on failure), -once@ (oneshot, --once), @.timer (starts -once@)"
mkdir -p "$work/root/etc"
"$sysusers" --root="$work/root" --dry-run "$conf" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
grep -q "Creating user 'scfgate'" "$work/out"
echo "ok - $(basename "$conf") creates the scfgate user"
