#!/bin/sh
# The bundle command end to end with the real binary, the sample records
# and test keys: export in each compression, verify, list --json, import,
# re-import, wrong key, bad usage, and an import whose flush fails.
# Usage: cli_test.sh SCFGATE SOURCE_DIR FAULT_SHIM.so
set -eu
bin=$1
src=$2
shim=$3
keys=$src/tests/data/keys
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$t/a/inbound/new" "$t/media"
cp "$src"/tests/data/records/0000000000000000000[78]-oms.xml "$t/a/inbound/new/"
for ext in tar tar.gz tar.zst; do
	"$bin" bundle export --root "$t/a" --queue inbound --key "$keys/test-oms.key" \
		--out "$t/media/b.$ext" >/dev/null
	"$bin" bundle verify "$t/media/b.$ext" --pubkey "$keys/test-oms.pub" \
		--record-pubkey "$keys/test-oms.pub" | grep -q "OK: signature and 2 digest" ||
		fail "verify $ext"
done
"$bin" bundle list "$t/media/b.tar.zst" --pubkey "$keys/test-oms.pub" --json |
	grep -q '"ok":true,"kind":"records"' || fail "list --json"
# The wrong key: exit 1 and one line naming manifest.sig.
if "$bin" bundle verify "$t/media/b.tar" --pubkey "$keys/test-scf.pub" 2>"$t/err"; then
	fail "wrong key accepted"
fi
grep -q "manifest.sig': signed by key" "$t/err" || fail "wrong key message: $(cat "$t/err")"
test "$(wc -l <"$t/err")" -eq 1 || fail "more than one line"
"$bin" bundle import "$t/media/b.tar.zst" --root "$t/b" --queue inbound \
	--pubkey "$keys/test-oms.pub" | grep -q "2 record(s) imported, 0 already" || fail "import"
cmp "$t/a/inbound/new/00000000000000000008-oms.xml" "$t/b/inbound/new/00000000000000000008-oms.xml" ||
	fail "imported bytes differ"
"$bin" bundle import "$t/media/b.tar.gz" --root "$t/b" --queue inbound \
	--pubkey "$keys/test-oms.pub" | grep -q "0 record(s) imported, 2 already" || fail "re-import"
# The import's flush fails (syncfs: EIO, through the fault shim): exit 1
# naming it, nothing in new/, nothing left in tmp/; the next import
# commits both records.
if LD_PRELOAD=$shim ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
	SCFGATE_FAULT_OP=syncfs SCFGATE_FAULT_NTH=1 SCFGATE_FAULT_PREFIX="$t/c" \
	"$bin" bundle import "$t/media/b.tar" --root "$t/c" --queue inbound \
	--pubkey "$keys/test-oms.pub" >/dev/null 2>"$t/err"; then
	fail "import with a failing syncfs succeeded"
fi
grep -q "syncfs: Input/output error" "$t/err" || fail "failed flush message: $(cat "$t/err")"
test -z "$(ls -A "$t/c/inbound/new")$(ls -A "$t/c/inbound/tmp")" ||
	fail "files left after a failed flush"
"$bin" bundle import "$t/media/b.tar" --root "$t/c" --queue inbound \
	--pubkey "$keys/test-oms.pub" | grep -q "2 record(s) imported, 0 already" ||
	fail "import after a failed flush"
# Import checks what a bundle carries: the manifest's queue must be the
# queue imported into, and every record's kind must belong there (acks
# in outbound would be applied by the wrong half); verify without
# --record-pubkey says the records were not checked.
"$bin" bundle verify "$t/media/b.tar" --pubkey "$keys/test-oms.pub" |
	grep -q "records' own signatures were NOT checked" || fail "verify without --record-pubkey"
mkdir -p "$t/k/outbound/new" "$t/k/archive/new"
cp "$t/a/inbound/new/"*.xml "$t/k/outbound/new/"
cp "$t/a/inbound/new/"*.xml "$t/k/archive/new/"
for q in outbound archive; do
	"$bin" bundle export --root "$t/k" --queue $q --key "$keys/test-oms.key" \
		--out "$t/media/k-$q.tar" >/dev/null || fail "export $q"
done
if "$bin" bundle import "$t/media/k-outbound.tar" --root "$t/kk" --queue outbound \
	--pubkey "$keys/test-oms.pub" >/dev/null 2>"$t/err"; then
	fail "acks imported into outbound"
fi
grep -q "kind ack does not belong in queue outbound" "$t/err" || fail "kind: $(cat "$t/err")"
if "$bin" bundle import "$t/media/k-archive.tar" --root "$t/kk" --queue inbound \
	--pubkey "$keys/test-oms.pub" >/dev/null 2>"$t/err"; then
	fail "a bundle of another queue imported"
fi
grep -q "a bundle of queue 'archive', not 'inbound'" "$t/err" || fail "queue: $(cat "$t/err")"
test -z "$(ls -A "$t/kk/inbound/new" 2>/dev/null)$(ls -A "$t/kk/outbound/new" 2>/dev/null)" ||
	fail "a refused bundle left records"
# Export signs only records: each file is decoded and must match its
# name, and with --record-pubkey verify; junk, a misnamed record or one
# signed by another key is refused naming the file, and no bundle is
# written.
mkdir -p "$t/x/inbound/new"
cp "$t/a/inbound/new/00000000000000000007-oms.xml" "$t/x/inbound/new/"
"$bin" bundle export --root "$t/x" --queue inbound --key "$keys/test-oms.key" \
	--record-pubkey "$keys/test-oms.pub" --out "$t/media/x.tar" >/dev/null ||
	fail "export with --record-pubkey"
rm -f "$t/media/x.tar"
if "$bin" bundle export --root "$t/x" --queue inbound --key "$keys/test-oms.key" \
	--record-pubkey "$keys/test-scf.pub" --out "$t/media/x.tar" >/dev/null 2>"$t/err"; then
	fail "export packed a record signed by another key"
fi
grep -q "00000000000000000007-oms.xml: not packed: " "$t/err" || fail "other key: $(cat "$t/err")"
test ! -e "$t/media/x.tar" || fail "a bundle was written (other key)"
cp "$t/a/inbound/new/00000000000000000007-oms.xml" "$t/x/inbound/new/00000000000000000009-oms.xml"
if "$bin" bundle export --root "$t/x" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/x.tar" >/dev/null 2>"$t/err"; then
	fail "export packed a misnamed record"
fi
grep -q "00000000000000000009-oms.xml: not packed: the record says producer oms seq 7" "$t/err" ||
	fail "misnamed: $(cat "$t/err")"
echo "not a record" >"$t/x/inbound/new/00000000000000000009-oms.xml"
if "$bin" bundle export --root "$t/x" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/x.tar" >/dev/null 2>"$t/err"; then
	fail "export packed junk"
fi
grep -q "00000000000000000009-oms.xml: not packed: " "$t/err" || fail "junk: $(cat "$t/err")"
test ! -e "$t/media/x.tar" || fail "a bundle was written (junk)"
# Hostile entries: a record name that is a symbolic link (to a file
# outside the spool) or a FIFO is never packed: export fails naming it
# and writes no bundle; a bundle path that is a FIFO is refused at once
# (both used to read through the link or block for ever).
mkdir -p "$t/h/inbound/new"
cp "$t/a/inbound/new/00000000000000000007-oms.xml" "$t/h/inbound/new/"
echo "root:secret-hash:19000:0:99999:7:::" >"$t/canary"
ln -s "$t/canary" "$t/h/inbound/new/00000000000000000008-oms.xml"
if timeout 20 "$bin" bundle export --root "$t/h" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/h.tar" >/dev/null 2>"$t/err"; then
	fail "export packed a symbolic link"
fi
grep -q "00000000000000000008-oms.xml: a symbolic link, not a regular file" "$t/err" ||
	fail "export of a link: $(cat "$t/err")"
test ! -e "$t/media/h.tar" || fail "a bundle was written"
rm "$t/h/inbound/new/00000000000000000008-oms.xml"
mkfifo "$t/h/inbound/new/00000000000000000008-oms.xml"
if timeout 20 "$bin" bundle export --root "$t/h" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/h.tar" >/dev/null 2>"$t/err"; then
	fail "export packed a FIFO"
fi
grep -q "a FIFO, not a regular file" "$t/err" || fail "export of a FIFO: $(cat "$t/err")"
mkfifo "$t/media/fifo.tar"
if timeout 20 "$bin" bundle verify "$t/media/fifo.tar" --pubkey "$keys/test-oms.pub" \
	>/dev/null 2>"$t/err"; then
	fail "verify accepted a FIFO"
fi
grep -q "fifo.tar: not a regular file" "$t/err" || fail "verify of a FIFO: $(cat "$t/err")"
# Usage errors exit 2 with one line; --help exits 0.
set +e
"$bin" bundle 2>/dev/null; test $? -eq 2 || fail "no sub-command"
"$bin" bundle export --root "$t/a" 2>/dev/null; test $? -eq 2 || fail "missing options"
"$bin" bundle frobnicate 2>/dev/null; test $? -eq 2 || fail "unknown sub-command"
"$bin" bundle import --help >/dev/null; test $? -eq 0 || fail "--help"
echo "bundle CLI: ok"
