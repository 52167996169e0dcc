#!/usr/bin/env bash
# spool_ls_rss.sh SCFGATE SPOOL_DEMO SPOOL_BENCH KEYDIR: `scfgate spool ls`,
# --json and text, holds one record at a time: its peak RSS is the same
# for a queue of 200 records as for one of 2,000 (within 1.5 MiB; the
# whole JSON document of 2,000 records took about 3 MiB more).
# The records are copies of one committed record under 20,000 names:
# ls decodes each for its kind and issue, it does not verify.
set -euo pipefail
scfgate=$1 demo=$2 bench=$3 keys=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Freed memory must be reusable for the figure to mean anything.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
cp "$keys/test-scf.key" "$work/scf.key"
chmod 600 "$work/scf.key"
"$demo" put "$work/one" outbound scf "$work/scf.key" 1 >/dev/null
rec=$(cat "$work/one/outbound/new/00000000000000000001-scf.xml")
fails=0
for n in 200 2000; do
	mkdir -p "$work/q$n/outbound"/{tmp,new,cur,done,failed,hold,state,dismissed}
	for ((i = 1; i <= n; i++)); do
		printf '%s' "$rec" >"$work/q$n/outbound/done/$(printf '%020d' "$i")-scf.xml"
	done
done
rss() { "$bench" --rss "$scfgate" spool ls --root "$1" --queue outbound "${@:2}"; }
for mode in --json text; do
	args=()
	[ "$mode" = --json ] && args=(--json)
	small=$(rss "$work/q200" "${args[@]}")
	big=$(rss "$work/q2000" "${args[@]}")
	echo "spool ls $mode: peak RSS ${small} KiB at 200 records, ${big} KiB at 2,000"
	if [ $((big - small)) -gt 1536 ]; then
		echo "FAIL: spool ls $mode grows with the queue" >&2
		fails=$((fails + 1))
	fi
done
# Still one valid array, every record in order.
count=$("$scfgate" spool ls --root "$work/q2000" --queue outbound --json |
	jq 'length as $n | [.[].seq] == [range(1; $n + 1)] | if . then $n else -1 end')
if [ "$count" != 2000 ]; then
	echo "FAIL: spool ls --json listed $count records in order, not 2000" >&2
	fails=$((fails + 1))
fi
exit $fails
