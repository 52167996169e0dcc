#!/usr/bin/env bash
# tools/bench.sh BUILD_DIR [SECTION...]: print benchmark figures and the
# ratios that matter, each measured beside its baseline in the same run.
# A benchmark, not a test: it reports, it does not pass or fail on speed.
#
# Sections (default: all); append new ones as bench_<name> functions and
# add the name to `sections`:
#   spool   durable commit vs a raw loop, group commit, claim+complete rate
#           and consumer peak RSS at two queue lengths
#
# Environment: SCFGATE_BENCH_DIR (scratch space on the disk to measure,
# default BUILD_DIR/bench-tmp), SCFGATE_BENCH_N (records per timed commit
# loop, default 300), SCFGATE_BENCH_QUEUE (the long queue, default 100000;
# the short one is a tenth of it).
set -euo pipefail

build=${1:?usage: tools/bench.sh BUILD_DIR [SECTION...]}
shift
build=$(cd "$build" && pwd)
scratch=${SCFGATE_BENCH_DIR:-$build/bench-tmp}
sections=(spool)

bench_spool() {
  local bin=$build/tests/spool_bench dir=$scratch/spool
  [ -x "$bin" ] || { echo "bench spool: $bin not built" >&2; return 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  "$bin" "$dir" "${SCFGATE_BENCH_N:-300}"
  rm -rf "$dir"
}

[ $# -gt 0 ] && sections=("$@")
echo "scfgate benchmarks ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, scratch on" \
     "$(df -T "$build" | awk 'NR==2 {print $2 " " $1}'))"
for s in "${sections[@]}"; do
  echo
  echo "== $s"
  "bench_$s"
done
