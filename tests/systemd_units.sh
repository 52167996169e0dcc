#!/bin/sh
# systemd_units.sh ANALYZE SYSUSERS UNITDIR SYSUSERS_CONF: the systemd units
# of both halves load cleanly (systemd-analyze verify: directives, the
# ExecStart binary) and stay hardened: systemd-analyze security rates each
# at most 1.5 of 10 ("OK"), so a unit that gives back a protection fails
# this test.  Each is a Type=notify unit with a watchdog and a reload
# by SIGHUP (the halves speak sd_notify and re-read their configuration
# on SIGHUP).  The sysusers.d entry is run through systemd-sysusers
# --dry-run against an empty root.
set -eu
analyze=$1 sysusers=$2 dir=$3 conf=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
for unit in "$dir"/scfgate-scf.service "$dir"/scfgate-oms.service; do
	# --man=no: the Documentation= pages are installed with the package,
	# not in this build tree (the package's install test finds them).
	"$analyze" verify --man=no "$unit"
	if ! "$analyze" security --offline=true --threshold=15 "$unit" >"$work/security" 2>&1; then
		grep -E '✗|Overall' "$work/security" >&2 || cat "$work/security" >&2
		echo "not ok - $unit: exposure above 1.5" >&2
		exit 1
	fi
	echo "ok - $(basename "$unit"): $(grep Overall "$work/security")"
	for line in 'Type=notify' 'NotifyAccess=main' 'ExecReload=/bin/kill -HUP $MAINPID'; do
		grep -qxF "$line" "$unit" || { echo "not ok - $unit: no $line" >&2; exit 1; }
	done
	grep -qE '^WatchdogSec=[1-9]' "$unit" || { echo "not ok - $unit: no WatchdogSec=" >&2; exit 1; }
	echo "ok - $(basename "$unit"): Type=notify, WatchdogSec=, ExecReload="
	n=$((n + 1))
done
test "$n" -eq 2
mkdir -p "$work/root/etc"
"$sysusers" --root="$work/root" --dry-run "$conf" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
grep -q "Creating user 'scfgate'" "$work/out"
echo "ok - $(basename "$conf") creates the scfgate user"
