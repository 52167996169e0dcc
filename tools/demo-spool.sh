#!/usr/bin/env bash
# tools/demo-spool.sh BUILD_DIR: the spool alone, by hand: keygen, commit,
# transfer by copying files, verify, consume (tools/run demo is the whole loop).
#
#   1. each half makes its key pair (scfgate keygen)
#   2. the OMS half commits signed records into its inbound queue, and the
#      SCF half into its outbound queue (one by one and as a group)
#   3. "transport": the files of each <queue>/new/ are copied to the other
#      host's spool root, as a shared folder, rsync or a diode would
#   4. the receiving half verifies them with the sender's public key and
#      consumes them in order; a tampered copy is quarantined, not applied
#   5. a summary from `scfgate spool stat`
set -euo pipefail

build=${1:?usage: tools/demo.sh BUILD_DIR}
build=$(cd "$build" && pwd)
gate=$build/scfgate
demo=$build/tools/spool-demo/spool-demo
for b in "$gate" "$demo"; do
  [ -x "$b" ] || { echo "tools/demo-spool.sh: $b not built" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
scf_host=$work/scf-host
oms_host=$work/oms-host
mkdir -p "$scf_host/keys" "$oms_host/keys"

step() { printf '\n== %s\n' "$*"; }

step "1. key pairs (private key stays on its half, public key goes to the other)"
"$gate" keygen --dir "$scf_host/keys" --name scf
"$gate" keygen --dir "$oms_host/keys" --name oms
cp "$scf_host/keys/scf.pub" "$oms_host/keys/"
cp "$oms_host/keys/oms.pub" "$scf_host/keys/"

step "2. commit: SCF half -> outbound (3 single commits), OMS half -> inbound (a group of 4)"
"$demo" put "$scf_host/spool" outbound scf "$scf_host/keys/scf.key" 3
"$demo" put "$oms_host/spool" inbound oms "$oms_host/keys/oms.key" 4 4
"$gate" spool stat --root "$scf_host/spool" --queue outbound
"$gate" spool stat --root "$oms_host/spool" --queue inbound

step "3. transport: copy each new/ to the other host (the files may arrive in any order)"
mkdir -p "$oms_host/spool/outbound/new" "$scf_host/spool/inbound/new"
for f in $(ls -r "$scf_host/spool/outbound/new"); do
  cp "$scf_host/spool/outbound/new/$f" "$oms_host/spool/outbound/new/"
done
cp "$oms_host/spool/inbound/new/"*.xml "$scf_host/spool/inbound/new/"
# A copy damaged in transit: one more record, altered after signing.
"$demo" put "$scf_host/spool" outbound scf "$scf_host/keys/scf.key" 1 >/dev/null
bad=$(ls "$scf_host/spool/outbound/new" | tail -1)
sed 's/Closed/Opened/' "$scf_host/spool/outbound/new/$bad" >"$oms_host/spool/outbound/new/$bad"
touch -d '-5 minutes' "$oms_host/spool/outbound/new/$bad"
"$gate" spool ls --root "$oms_host/spool" --queue outbound

step "4. verify on arrival (the OMS half checks the SCF half's signatures)"
"$gate" spool verify --root "$oms_host/spool" --queue outbound --pubkey "$oms_host/keys/scf.pub" || true
first=$(ls "$oms_host/spool/outbound/new" | head -1)
"$gate" spool show "$first" --root "$oms_host/spool" --queue outbound --pubkey "$oms_host/keys/scf.pub"

step "5. consume in sequence order"
"$demo" take "$oms_host/spool" outbound "$oms_host/keys/scf.pub"
"$demo" take "$scf_host/spool" inbound "$scf_host/keys/oms.pub"
echo "quarantined:"
for w in "$oms_host/spool/outbound/failed/"*.why; do
  [ -e "$w" ] && sed -n '1p' "$w" | sed "s|^|  $(basename "${w%.why}"): |"
done

step "summary"
"$gate" spool stat --root "$oms_host/spool"
"$gate" spool stat --root "$scf_host/spool"
done_out=$(ls "$oms_host/spool/outbound/done" | wc -l)
done_in=$(ls "$scf_host/spool/inbound/done" | wc -l)
failed_out=$(ls "$oms_host/spool/outbound/failed" | grep -vc '\.why' || true)
echo "outbound: $done_out applied, $failed_out quarantined; inbound: $done_in applied"
[ "$done_out" -eq 3 ] && [ "$done_in" -eq 4 ] && [ "$failed_out" -eq 1 ]
echo "demo: spool round trip OK"
