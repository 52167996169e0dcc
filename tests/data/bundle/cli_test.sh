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
# Usage errors exit 2 with one line; --help exits 0.
set +e
"$bin" bundle 2>/dev/null; test $? -eq 2 || fail "no sub-command"
"$bin" bundle export --root "$t/a" 2>/dev/null; test $? -eq 2 || fail "missing options"
"$bin" bundle frobnicate 2>/dev/null; test $? -eq 2 || fail "unknown sub-command"
"$bin" bundle import --help >/dev/null; test $? -eq 0 || fail "--help"
echo "bundle CLI: ok"
