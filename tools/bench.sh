#!/usr/bin/env bash
# tools/bench.sh BUILD_DIR [SECTION...]: print benchmark figures and the
# ratios that matter, each measured beside its baseline in the same run.
# A benchmark, not a test: it reports, it does not pass or fail on speed.
#
# Sections (default: all); append new ones as bench_<name> functions and
# add the name to `sections`:
#   spool   durable commit vs a raw loop, in-process and as whole processes (spool-demo put
#           vs the raw loop program), group commit (plain and pipelined) vs the raw group
#           loop, claim+complete rate and consumer peak RSS at two queue lengths
#   sim     requests/s each simulator serves on loopback with faults off
#   scf     SCF half: API calls per 100 changed issues and 429s, and calls per
#           100 acknowledgments (goal: at most 110), against scf-sim with its
#           rate limit on (wall clock); calls per idle pass after a
#           1,000-issue bulk change (simulated clock; goal 1); 429s over 20
#           back-to-back `scf --once` runs at 20 calls in any 60 s (real
#           processes, about 2 minutes; SCFGATE_BENCH_SCF_RUNS for fewer)
#   oms     OMS half: drain of a backlog of 10,000 issues (a comment with a photo on
#           every third) at 20 ms latency, concurrency 1 vs the default, against the
#           ideal of the minimum calls; peak RSS; start-up and one poll cycle with
#           100,000 tracked requests against its ideal, with scfgate's and oms-sim's CPU
#   bundle  export/verify/import rates and peak RSS, 10,000 vs 100,000 records
#   e2e     issue-to-request and close-to-Closed latency beside the sum of
#           the poll intervals involved
#   transfer records/s `scfgate transfer` pushes over SFTP on loopback against
#           `sftp -b` and `scp` moving the same files (goal: at least 0.8x the
#           better), and its peak RSS at 1,000 vs 10,000 files (goal: flat);
#           SCFGATE_BENCH_TRANSFER_N for the smaller count
#
# Environment: SCFGATE_BENCH_DIR (scratch space on the disk to measure,
# default BUILD_DIR/bench-tmp), SCFGATE_BENCH_N (records per timed commit
# loop; unset: spool_bench's default, 3072), SCFGATE_BENCH_QUEUE (the long
# queue, default 100000; the short one is a tenth of it), SCFGATE_BENCH_OMS_RECORDS (the OMS
# backlog, default 10000), SCFGATE_BENCH_TRACKED (tracked requests for the
# OMS poll, default 100000), SCFGATE_BENCH_OMS_SCAN (set: the poll again
# against oms-sim --no-index, what the simulator cost before its indexes).
set -euo pipefail

build=${1:?usage: tools/bench.sh BUILD_DIR [SECTION...]}
shift
build=$(cd "$build" && pwd)
scratch=${SCFGATE_BENCH_DIR:-$build/bench-tmp}
sections=(spool sim scf oms bundle e2e transfer)

bench_spool() {
  local bin=$build/tests/spool_bench dir=$scratch/spool
  [ -x "$bin" ] || { echo "bench spool: $bin not built" >&2; return 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  SCFGATE_SPOOL_DEMO=$build/tools/spool-demo/spool-demo \
    "$bin" "$dir" ${SCFGATE_BENCH_N:+"$SCFGATE_BENCH_N"}
  rm -rf "$dir"
}

need() {
  [ -x "$1" ] || { echo "not built: $1" >&2; return 1; }
}

bench_sim() {
  need "$build/tests/sim_bench" || return 1
  "$build/tests/sim_bench" --seconds 5 --concurrency 8
}

bench_scf() {
  need "$build/tests/scf_bench" || return 1
  "$build/tests/scf_bench" --real 100
  "$build/tests/scf_bench" --bulk 1000
  need "$build/tests/scf_runs_bench" || return 1
  "$build/tests/scf_runs_bench" "${SCFGATE_BENCH_SCF_RUNS:-20}"
}

bench_oms() {
  need "$build/tests/oms_bench" || return 1
  OMS_SIM_BIN=$build/tools/sim/oms-sim SCFGATE_BIN=$build/scfgate \
    SCFGATE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd) "$build/tests/oms_bench" \
    --records "${SCFGATE_BENCH_OMS_RECORDS:-10000}" --tracked "${SCFGATE_BENCH_TRACKED:-100000}" \
    ${SCFGATE_BENCH_OMS_SCAN:+--scan-baseline}
}

bench_bundle() {
  need "$build/tests/bundle_bench" || return 1
  local dir=$scratch/bundle
  rm -rf "$dir" && mkdir -p "$dir"
  TMPDIR=$dir "$build/tests/bundle_bench" 10000 100000
  rm -rf "$dir"
}

bench_e2e() {
  "$(dirname "$0")/../tests/bench/e2e_bench.sh" "$build"
}

bench_transfer() {
  need "$build/scfgate" || return 1
  sh "$(dirname "$0")/../tests/bench/transfer_bench.sh" "$build"
}

[ $# -gt 0 ] && sections=("$@")
echo "scfgate benchmarks ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, scratch on" \
     "$(df -T "$build" | awk 'NR==2 {print $2 " " $1}'))"
for s in "${sections[@]}"; do
  echo
  echo "== $s"
  # One section failing to run must not hide the others' figures.
  "bench_$s" || echo "bench $s: did not complete (exit $?)"
done
