#!/usr/bin/env bash
# tools/bench.sh BUILD_DIR [SECTION...]: print benchmark figures and the
# ratios that matter, each measured beside its baseline in the same run.
# A benchmark, not a test: it reports, it does not pass or fail on speed.
#
# Sections (default: all); append new ones as bench_<name> functions and
# add the name to `sections`:
#   spool   durable commit vs a raw loop, in-process and as whole processes (spool-demo put
#           vs the raw loop program), group commit (plain and pipelined) vs the raw group
#           loop, claim+complete rate and consumer peak RSS at two queue lengths, the
#           `spool ls` peak RSS (--json and text) at both lengths, the producer's open
#           with the long queue in done/ (sequence file vs reading the queue)
#   sim     requests/s each simulator serves on loopback with faults off
#   scf     SCF half: the passes of 100 issues and 100 acknowledgments over https
#           through rtt-proxy at 20 ms (limiter waits on a clock of their own) beside
#           calls x round trip and a bare client's cost per call; API calls per 100
#           changed issues and 429s, and calls per
#           100 acknowledgments (goal: at most 110), against scf-sim with its
#           rate limit on (wall clock); calls per idle pass after a
#           1,000-issue bulk change (simulated clock; goal 1); 429s over 20
#           back-to-back `scf --once` runs at 20 calls in any 60 s (real
#           processes, about 2 minutes; SCFGATE_BENCH_SCF_RUNS for fewer); a first
#           sync of 1,000 issues (SCFGATE_BENCH_FIRST_SYNC): fetch, acknowledgment
#           and close calls beside one page per 20 and one POST per transition, and
#           the minutes the fetch and acknowledgments take at 20 calls a minute
#   oms     OMS half: drain of a backlog of 1,500 issues (a comment with a photo on
#           every third) over https through rtt-proxy adding a 20 ms round trip
#           (handshakes included), concurrency 1 vs the default, against one round
#           trip per call made and per minimum call; the same drain of 10,000 issues
#           at 20 ms server latency against the ideal of the minimum calls; peak RSS;
#           start-up and one poll cycle with
#           100,000 tracked requests against its ideal, with scfgate's and oms-sim's CPU
#   bundle  export/verify/import rates and peak RSS, 10,000 vs 100,000 records
#   e2e     issue-to-request and close-to-Closed latency beside the sum of
#           the poll intervals involved, in fast mode (SCF limit off) and at
#           the real limit (scf-sim enforcing 20 calls a minute)
#   census  `scfgate scf census` of 10,000 and 100,000 issues against scf-sim:
#           SCF calls beside the ideal (issues / 100), time, peak RSS (flat)
#           (SCFGATE_BENCH_CENSUS: other sizes, space-separated)
#   reconcile  the OMS half's reconciliation of a census of 10,000 and 100,000
#           issues at 20 ms latency: Cartegraph calls beside the ideal (issues /
#           150), time, classes, peak RSS at both sizes
#   transfer records/s `scfgate transfer` pushes and pulls over SFTP on
#           loopback against `sftp -b` and `scp` moving the same files the
#           same way (goal: at least 0.8x the better, each direction), each
#           the median of 3 runs taking turns, and its peak RSS at 1,000 vs
#           10,000 files each way (goal: flat); SCFGATE_BENCH_TRANSFER_N for
#           the smaller count, SCFGATE_BENCH_TRANSFER_REPEAT for the runs
#
# Environment: SCFGATE_BENCH_DIR (scratch space on the disk to measure,
# default BUILD_DIR/bench-tmp), SCFGATE_BENCH_N (records per timed commit
# loop; unset: spool_bench's default, 3072), SCFGATE_BENCH_QUEUE (the long
# queue, default 100000; the short one is a tenth of it), SCFGATE_BENCH_OMS_RECORDS (the OMS
# backlog, default 10000), SCFGATE_BENCH_RTT_RECORDS (the backlog drained
# through rtt-proxy, default 1500), SCFGATE_BENCH_TRACKED (tracked requests for the
# OMS poll, default 100000), SCFGATE_BENCH_OMS_SCAN (set: the poll again
# against oms-sim --no-index, what the simulator cost before its indexes),
# SCFGATE_BENCH_RECON_SIZES (census sizes to reconcile, default 10000,100000).
set -euo pipefail

build=${1:?usage: tools/bench.sh BUILD_DIR [SECTION...]}
shift
build=$(cd "$build" && pwd)
scratch=${SCFGATE_BENCH_DIR:-$build/bench-tmp}
sections=(spool sim scf oms bundle e2e census reconcile transfer)

bench_spool() {
  local bin=$build/tests/spool_bench dir=$scratch/spool
  [ -x "$bin" ] || { echo "bench spool: $bin not built" >&2; return 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  SCFGATE_SPOOL_DEMO=$build/tools/spool-demo/spool-demo SCFGATE_BIN=$build/scfgate \
    "$bin" "$dir" ${SCFGATE_BENCH_N:+"$SCFGATE_BENCH_N"}
  rm -rf "$dir"
}

need() {
  [ -x "$1" ] || { echo "not built: $1" >&2; return 1; }
}

bench_census() {
  # shellcheck disable=SC2086
  bash "$(dirname "$0")/../tests/bench/census_bench.sh" "$build" ${SCFGATE_BENCH_CENSUS:-10000 100000}
}

bench_sim() {
  need "$build/tests/sim_bench" || return 1
  "$build/tests/sim_bench" --seconds 5 --concurrency 8
}

bench_scf() {
  need "$build/tests/scf_bench" || return 1
  need "$build/tools/rtt-proxy/rtt-proxy" || return 1
  local tls=$scratch/tls-scf
  make_ca "$tls" || { echo "bench scf: openssl could not make the throw-away CA" >&2; return 1; }
  RTT_PROXY_BIN=$build/tools/rtt-proxy/rtt-proxy "$build/tests/scf_bench" --rtt-ms 20 "$tls" 100
  rm -rf "$tls"
  "$build/tests/scf_bench" --real 100
  "$build/tests/scf_bench" --bulk 1000
  "$build/tests/scf_bench" --first-sync "${SCFGATE_BENCH_FIRST_SYNC:-1000}"
  need "$build/tests/scf_runs_bench" || return 1
  "$build/tests/scf_runs_bench" "${SCFGATE_BENCH_SCF_RUNS:-20}"
}

# A throw-away CA and a server certificate for 127.0.0.1 signed by it, in
# $1 (ca.crt, server.crt, server.key): the simulators serve https with it
# and the half trusts the CA through <caFile>.
make_ca() {
  local d=$1
  rm -rf "$d" && mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=scfgate-bench-CA -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.crt" 2>/dev/null
}

bench_oms() {
  need "$build/tests/oms_bench" || return 1
  need "$build/tools/rtt-proxy/rtt-proxy" || return 1
  local tls=$scratch/tls
  make_ca "$tls" || { echo "bench oms: openssl could not make the throw-away CA" >&2; return 1; }
  export OMS_SIM_BIN=$build/tools/sim/oms-sim SCFGATE_BIN=$build/scfgate \
    SCFGATE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd) \
    RTT_PROXY_BIN=$build/tools/rtt-proxy/rtt-proxy
  # Over a real round trip: https through rtt-proxy (20 ms), against one
  # round trip per call.
  "$build/tests/oms_bench" --records "${SCFGATE_BENCH_RTT_RECORDS:-1500}" --tracked 0 \
    --rtt-ms 20 --tls-dir "$tls"
  "$build/tests/oms_bench" \
    --records "${SCFGATE_BENCH_OMS_RECORDS:-10000}" --tracked "${SCFGATE_BENCH_TRACKED:-100000}" \
    ${SCFGATE_BENCH_OMS_SCAN:+--scan-baseline}
  rm -rf "$tls"
}

bench_bundle() {
  need "$build/tests/bundle_bench" || return 1
  local dir=$scratch/bundle
  rm -rf "$dir" && mkdir -p "$dir"
  TMPDIR=$dir "$build/tests/bundle_bench" 10000 100000
  rm -rf "$dir"
}

bench_reconcile() {
  need "$build/tests/recon_bench" || return 1
  OMS_SIM_BIN=$build/tools/sim/oms-sim SCFGATE_BIN=$build/scfgate \
    SCFGATE_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd) "$build/tests/recon_bench" \
    --sizes "${SCFGATE_BENCH_RECON_SIZES:-10000,100000}"
}

bench_e2e() {
  "$(dirname "$0")/../tests/bench/e2e_bench.sh" "$build"
  E2E_BENCH_RATE=20 "$(dirname "$0")/../tests/bench/e2e_bench.sh" "$build"
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
