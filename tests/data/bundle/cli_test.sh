#!/bin/sh
# The bundle command end to end with the real binary, the sample records
# and test keys: export in each compression, verify, list --json, import,
# re-import, wrong key, bad usage.  Usage: cli_test.sh SCFGATE SOURCE_DIR
set -eu
bin=$1
src=$2
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
# Usage errors exit 2 with one line; --help exits 0.
set +e
"$bin" bundle 2>/dev/null; test $? -eq 2 || fail "no sub-command"
"$bin" bundle export --root "$t/a" 2>/dev/null; test $? -eq 2 || fail "missing options"
"$bin" bundle frobnicate 2>/dev/null; test $? -eq 2 || fail "unknown sub-command"
"$bin" bundle import --help >/dev/null; test $? -eq 0 || fail "--help"
echo "bundle CLI: ok"
