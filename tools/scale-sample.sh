#!/usr/bin/env bash
# tools/scale-sample.sh BUILD_DIR [ISSUES] [IDLE_SECONDS]
#
# What one organization costs a host: the memory and CPU of one pair of
# halves (scfgate scf, scfgate oms), as separate processes with separate
# spool roots and the file-copy transport of tools/e2e/lib.sh, against the
# simulators on loopback.  Numbers for docs/operations.md ("How many
# organizations one host serves"); on demand, not part of ctest.  Measure
# a Release build (an ASan build takes several times the memory).
#
#   busy: scf-sim starts with ISSUES reports (default 300, 80 % with a
#         photo); the pair syncs them all (issue and attachment records to
#         Cartegraph, acknowledgments back) with 10-second polls and no
#         SeeClickFix rate limit, until no queue changed for 30 s.  Printed:
#         CPU seconds (user+system, /proc/PID/stat) up to the last change,
#         records moved, CPU per record, peak RSS (VmHWM).
#   idle: then IDLE_SECONDS (default 120) more with nothing new: CPU
#         seconds spent, passes made (10-second polls), RSS (VmRSS) at the
#         end and the part of it no other process shares (Private_Clean +
#         Private_Dirty of /proc/PID/smaps_rollup: what one more half
#         adds; the rest is the program and its libraries, shared).
# The simulators and the transport loop are not counted.
set -euo pipefail
build=${1:?usage: scale-sample.sh BUILD_DIR [ISSUES] [IDLE_SECONDS]}
issues=${2:-300}
idle=${3:-120}
poll=10
. "$(dirname "$0")/e2e/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-scale.XXXXXX")
e2e_init "$build" "$work"
trap 'e2e_cleanup; [ -n "${E2E_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
tck=$(getconf CLK_TCK)

cpu_ticks() { # PID: user+system time in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
kib() { # PID FIELD: VmHWM or VmRSS in KiB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
secs() { awk -v t="$1" -v k="$tck" 'BEGIN { printf "%.2f", t / k }'; }
private_kib() { # PID: pages no other process shares (smaps_rollup)
	awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { n += $2 } END { print n }' "/proc/$1/smaps_rollup"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
count() { # the records each half has finished with
	local n=0 d
	for d in "$SCF_ROOT"/outbound/done "$SCF_ROOT"/inbound/done \
		"$OMS_ROOT"/outbound/done "$OMS_ROOT"/inbound/done \
		"$SCF_ROOT"/inbound/new "$OMS_ROOT"/outbound/new; do
		[ -d "$d" ] && n=$((n + $(find "$d" -maxdepth 1 -type f -name '*.xml' | wc -l)))
	done
	echo "$n"
}

E2E_PHOTO_PERCENT=80 e2e_start_sims "$issues"
e2e_make_halves "$poll" "$poll" 30 3600
e2e_start_half scf
e2e_start_half oms
e2e_start_transport 1
start=$(date +%s)
last=$(count) last_t=$start still=0
scf_busy=0 oms_busy=0
while [ "$still" -lt 30 ]; do
	sleep 1
	kill -0 "$SCF_HALF_PID" "$OMS_HALF_PID" 2>/dev/null || e2e_die "a half stopped (see $work/logs)"
	n=$(count)
	if [ "$n" != "$last" ] || [ -n "$(find "$OMS_ROOT/outbound/new" "$SCF_ROOT/inbound/new" -type f)" ]; then
		last=$n last_t=$(date +%s) still=0
		scf_busy=$(cpu_ticks "$SCF_HALF_PID") oms_busy=$(cpu_ticks "$OMS_HALF_PID")
	else
		still=$((still + 1))
	fi
	[ $(($(date +%s) - start)) -lt 1800 ] || e2e_die "no quiet moment in 30 minutes"
done
# Records each half made or applied: the SCF half's issue, comment and
# attachment records and the OMS half's acknowledgments and closings.
out=$(find "$OMS_ROOT/outbound/done" -maxdepth 1 -type f -name '*.xml' | wc -l)
in=$(find "$SCF_ROOT/inbound/done" -maxdepth 1 -type f -name '*.xml' | wc -l)
failed=$(find "$OMS_ROOT/outbound/failed" "$SCF_ROOT/inbound/failed" -maxdepth 1 -type f -name '*.xml' 2>/dev/null | wc -l)
echo "busy: $issues reports in scf-sim; $out records SCF->OMS applied, $in records OMS->SCF applied, $failed failed, in $((last_t - start)) s"
for h in scf oms; do
	if [ $h = scf ]; then pid=$SCF_HALF_PID t=$scf_busy; else pid=$OMS_HALF_PID t=$oms_busy; fi
	per=$(awk -v t="$t" -v k="$tck" -v n="$((out + in))" 'BEGIN { printf "%.2f", n ? t / k * 1000 / n : 0 }')
	echo "busy: $h half: cpu $(secs "$t") s, $per ms per record moved; peak rss (VmHWM) $(mib "$(kib "$pid" VmHWM)") MiB"
done

scf0=$(cpu_ticks "$SCF_HALF_PID") oms0=$(cpu_ticks "$OMS_HALF_PID")
sleep "$idle"
for h in scf oms; do
	if [ $h = scf ]; then pid=$SCF_HALF_PID t0=$scf0; else pid=$OMS_HALF_PID t0=$oms0; fi
	t=$(($(cpu_ticks "$pid") - t0))
	echo "idle: $h half: cpu $(secs "$t") s in $idle s ($((idle / poll)) polls of ${poll} s), rss (VmRSS) $(mib "$(kib "$pid" VmRSS)") MiB, of it private $(mib "$(private_kib "$pid")") MiB, peak $(mib "$(kib "$pid" VmHWM)") MiB"
done
echo "host: $(nproc) cpus, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); clock ticks of $((1000 / tck)) ms"
