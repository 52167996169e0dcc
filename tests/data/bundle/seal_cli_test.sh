#!/bin/sh
# Encrypted bundles end to end with the real binary: the receiving half
# (scf, inbound) makes its X25519 key pair and names it in its
# configuration; the sending half exports encrypted to its public key;
# the medium holds no plaintext; the receiving half verifies and imports
# through its configuration, leaving no decrypted copy behind.  A changed
# or cut file, the wrong key, a key file open to others, a missing key,
# a plain bundle where <requireEncryptedBundles> is set, and a link or
# FIFO under a bundle's name are refused, naming the file, and nothing is
# imported.
# Usage: seal_cli_test.sh SCFGATE SOURCE_DIR
set -eu
bin=$1
src=$2
keys=$src/tests/data/keys
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# refused WHAT PATTERN CMD...: CMD must exit 1 with one line matching PATTERN.
refused() {
	what=$1 pat=$2
	shift 2
	if "$@" >"$t/out" 2>"$t/err"; then fail "$what: accepted"; fi
	grep -q -- "$pat" "$t/err" || fail "$what: $(cat "$t/err")"
	[ "$(wc -l <"$t/err")" -eq 1 ] || fail "$what: more than one line"
}
empty() { [ -z "$(ls -A "$1" 2>/dev/null)" ] || fail "$1 is not empty: $(ls -A "$1")"; }

mkdir -p "$t/etc" "$t/send/inbound/new" "$t/media" "$t/recv"
cp "$src"/tests/data/records/0000000000000000000[78]-oms.xml "$t/send/inbound/new/"
cp "$keys/test-scf.key" "$t/etc/scf.key"
cp "$keys/test-oms.pub" "$t/etc/oms.pub"
echo token >"$t/etc/scf.token"
chmod 600 "$t/etc/scf.key" "$t/etc/scf.token"

# The receiving half's key pair and configuration.
id=$("$bin" keygen --dir "$t/etc" --name scf --x25519)
# config FILE ROOT [EXTRA]: the scf half's configuration with the key.
config() {
	"$bin" config example --half scf |
		sed -e "s#<root>/var/spool/scfgate</root>#<root>$2</root>#" \
			-e "s#/etc/scfgate#$t/etc#g" \
			-e "s#</peerPublicKey>#</peerPublicKey><bundleDecryptionKey>$t/etc/scf.x25519.key</bundleDecryptionKey>${3:-}#" \
			>"$1"
}
config "$t/scf.xml" "$t/recv"
"$bin" config check "$t/scf.xml" >/dev/null || fail "config check: $("$bin" config check "$t/scf.xml" 2>&1)"

# Export on the sending half, encrypted to it.
"$bin" bundle export --root "$t/send" --queue inbound --key "$keys/test-oms.key" \
	--encrypt-to "$t/etc/scf.x25519.pub" --out "$t/media/in.tar.zst.enc" >"$t/out" ||
	fail "export"
grep -q "in.tar.zst.enc: 2 record(s), .* bytes, encrypted to key $id" "$t/out" ||
	fail "export output: $(cat "$t/out")"
empty "$t/send/inbound/tmp"
[ "$(ls -A "$t/media")" = in.tar.zst.enc ] || fail "media holds more: $(ls -A "$t/media")"
[ "$(head -c 8 "$t/media/in.tar.zst.enc")" = SCFGSEAL ] || fail "no magic"
# No plaintext on the medium: neither the records nor the archive.
for s in REQ-2026-00412 manifest.xml 00000000000000000007-oms.xml; do
	! grep -qa "$s" "$t/media/in.tar.zst.enc" || fail "'$s' readable on the medium"
done
zstd -dc "$t/media/in.tar.zst.enc" >/dev/null 2>&1 && fail "zstd reads it"
"$bin" bundle export --root "$t/send" --queue inbound --key "$keys/test-oms.key" \
	--encrypt-to "$t/etc/scf.x25519.pub" --out "$t/media/in.tar.enc" --json >"$t/out" ||
	fail "export --json"
grep -q "\"encrypted_to\":\"$id\"}" "$t/out" || fail "export --json: $(cat "$t/out")"

# Verify and import on the receiving half, through its configuration.
"$bin" bundle verify "$t/media/in.tar.zst.enc" --config "$t/scf.xml" >"$t/out" ||
	fail "verify: $(cat "$t/out")"
grep -q "^encrypted: to key $id, decrypted and authenticated" "$t/out" || fail "verify: $(cat "$t/out")"
grep -q "OK: signature and 2 digest" "$t/out" || fail "verify: $(cat "$t/out")"
"$bin" bundle list "$t/media/in.tar.enc" --config "$t/scf.xml" --json >"$t/out" || fail "list"
grep -q '"ok":true,"kind":"records"' "$t/out" && grep -q "\"encrypted_to\":\"$id\"}" "$t/out" ||
	fail "list --json: $(cat "$t/out")"
"$bin" bundle import "$t/media/in.tar.zst.enc" --config "$t/scf.xml" >"$t/out" ||
	fail "import: $(cat "$t/out")"
grep -q "2 record(s) imported, 0 already present; decrypted with key $id" "$t/out" ||
	fail "import: $(cat "$t/out")"
for n in 7 8; do
	cmp "$t/send/inbound/new/0000000000000000000$n-oms.xml" \
		"$t/recv/inbound/new/0000000000000000000$n-oms.xml" || fail "record $n differs"
done
empty "$t/recv/inbound/tmp"
"$bin" bundle import "$t/media/in.tar.enc" --config "$t/scf.xml" --json >"$t/out" ||
	fail "re-import"
grep -q "{\"imported\":0,\"duplicates\":2,\"encrypted_to\":\"$id\"}" "$t/out" ||
	fail "re-import: $(cat "$t/out")"

# Refused, naming the file, importing nothing (a fresh spool each time).
config "$t/fresh.xml" "$t/fresh"
mkdir "$t/fresh"
size=$(stat -c %s "$t/media/in.tar.zst.enc")
cp "$t/media/in.tar.zst.enc" "$t/media/flipped.enc"
printf 'X' | dd of="$t/media/flipped.enc" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
refused "a changed byte" "flipped.enc: chunk 0, the last (bytes 56-$((size - 1))): does not authenticate" \
	"$bin" bundle import "$t/media/flipped.enc" --config "$t/fresh.xml"
head -c $((size - 1)) "$t/media/in.tar.zst.enc" >"$t/media/cut.enc"
refused "a cut file" "cut.enc: chunk 0, the last .*does not authenticate" \
	"$bin" bundle import "$t/media/cut.enc" --config "$t/fresh.xml"
head -c 56 "$t/media/in.tar.zst.enc" >"$t/media/header-only.enc"
refused "only the header" "header-only.enc: cut off: the file ends before chunk 0" \
	"$bin" bundle import "$t/media/header-only.enc" --config "$t/fresh.xml"
cat "$t/media/in.tar.zst.enc" "$t/media/in.tar.zst.enc" >"$t/media/twice.enc"
refused "a file appended" "twice.enc: chunk 0, the last (bytes 56-$((2 * size - 1))): does not authenticate" \
	"$bin" bundle import "$t/media/twice.enc" --config "$t/fresh.xml"
refused "verify of a changed byte" "flipped.enc: chunk 0" \
	"$bin" bundle verify "$t/media/flipped.enc" --config "$t/fresh.xml"
empty "$t/fresh/inbound/new"
empty "$t/fresh/inbound/tmp"

# Planted on the medium or in an import directory: a symbolic link under
# a bundle's name (to a good encrypted or plain bundle, or to a FIFO) is
# never followed, a FIFO never waited on: refused at once naming the
# file, nothing imported.
"$bin" bundle export --root "$t/send" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/planted.tar" >/dev/null
ln -s "$t/media/in.tar.zst.enc" "$t/media/link.enc"
ln -s "$t/media/planted.tar" "$t/media/link.tar"
mkfifo "$t/media/fifo.enc" "$t/media/fifo.tar"
ln -s "$t/media/fifo.tar" "$t/media/link-fifo.tar"
refused "a link to an encrypted bundle" "link.enc: a symbolic link, not a regular file (never followed, nothing read)" \
	"$bin" bundle import "$t/media/link.enc" --config "$t/fresh.xml"
refused "verify of a link to an encrypted bundle" "link.enc: a symbolic link" \
	"$bin" bundle verify "$t/media/link.enc" --config "$t/fresh.xml"
refused "a link to a plain bundle" "link.tar: a symbolic link, not a regular file" \
	"$bin" bundle import "$t/media/link.tar" --root "$t/fresh" --queue inbound --pubkey "$keys/test-oms.pub"
refused "a link to a FIFO" "link-fifo.tar: a symbolic link" \
	timeout 20 "$bin" bundle import "$t/media/link-fifo.tar" --root "$t/fresh" --queue inbound --pubkey "$keys/test-oms.pub"
refused "a FIFO named like an encrypted bundle" "fifo.enc: not a regular file (a FIFO; never read)" \
	timeout 20 "$bin" bundle import "$t/media/fifo.enc" --config "$t/fresh.xml"
refused "a FIFO named like a plain bundle" "fifo.tar: not a regular file (a FIFO; never read)" \
	timeout 20 "$bin" bundle import "$t/media/fifo.tar" --root "$t/fresh" --queue inbound --pubkey "$keys/test-oms.pub"
empty "$t/fresh/inbound/new"
empty "$t/fresh/inbound/tmp"
rm -f "$t/media/link.enc" "$t/media/link.tar" "$t/media/link-fifo.tar" "$t/media/fifo.enc" \
	"$t/media/fifo.tar" "$t/media/planted.tar"

# The wrong key: another half's, and the right one open to others.
other=$(sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p' <<EOT
$("$bin" keygen --dir "$t/etc" --name other2 --x25519 --json)
EOT
)
refused "the wrong key" "in.tar.zst.enc: encrypted to key $id, not to this half's decryption key $other" \
	"$bin" bundle import "$t/media/in.tar.zst.enc" --root "$t/fresh" --queue inbound \
	--pubkey "$keys/test-oms.pub" --decrypt-key "$t/etc/other2.x25519.key"
chmod 640 "$t/etc/scf.x25519.key"
refused "a readable key" "scf.x25519.key: readable by group or others (mode 640)" \
	"$bin" bundle import "$t/media/in.tar.zst.enc" --root "$t/fresh" --queue inbound \
	--pubkey "$keys/test-oms.pub" --decrypt-key "$t/etc/scf.x25519.key"
refused "config with a readable key" "scf.x25519.key: readable by group or others" \
	"$bin" config check "$t/scf.xml"
chmod 600 "$t/etc/scf.x25519.key"
refused "no key" "in.tar.zst.enc: an encrypted bundle: give --decrypt-key" \
	"$bin" bundle verify "$t/media/in.tar.zst.enc" --pubkey "$keys/test-oms.pub"
refused "prune of an encrypted file" "in.tar.zst.enc: an encrypted bundle, not an acknowledgment" \
	"$bin" bundle prune "$t/media/in.tar.zst.enc" --root "$t/send" --queue inbound \
	--pubkey "$keys/test-oms.pub"
empty "$t/fresh/inbound/new"

# <requireEncryptedBundles>: a plain bundle is refused by import and
# verify (list still shows it); an encrypted one still imports.
"$bin" bundle export --root "$t/send" --queue inbound --key "$keys/test-oms.key" \
	--out "$t/media/plain.tar" >/dev/null || fail "plain export"
"$bin" bundle import "$t/media/plain.tar" --config "$t/fresh.xml" >/dev/null ||
	fail "a plain bundle refused without requireEncryptedBundles"
config "$t/strict.xml" "$t/strict" "<requireEncryptedBundles>true</requireEncryptedBundles>"
mkdir "$t/strict"
"$bin" config check "$t/strict.xml" >"$t/out" || fail "config check (strict)"
grep -q "^  bundle decryption key: $t/etc/scf.x25519.key\$" "$t/out" &&
	grep -q '^  encrypted bundles only: yes$' "$t/out" || fail "config check: $(cat "$t/out")"
refused "a plain bundle (strict)" "plain.tar: not an encrypted bundle, and this half accepts encrypted bundles only" \
	"$bin" bundle import "$t/media/plain.tar" --config "$t/strict.xml"
refused "verify of a plain bundle (strict)" "plain.tar: not an encrypted bundle" \
	"$bin" bundle verify "$t/media/plain.tar" --config "$t/strict.xml"
"$bin" bundle list "$t/media/plain.tar" --config "$t/strict.xml" | grep -q '^encrypted: no' ||
	fail "list (strict)"
empty "$t/strict/inbound/new"
"$bin" bundle import "$t/media/in.tar.zst.enc" --config "$t/strict.xml" |
	grep -q "2 record(s) imported" || fail "encrypted import (strict)"
sed -e "s#<bundleDecryptionKey>[^<]*</bundleDecryptionKey>##" "$t/strict.xml" >"$t/nokey.xml"
refused "requireEncryptedBundles without a key" "requireEncryptedBundles: requireEncryptedBundles needs a <bundleDecryptionKey>" \
	"$bin" config check "$t/nokey.xml"

# <bundleRecipientKey> on the sending half (the oms half, which writes
# inbound): an export that reads the configuration encrypts to it with no
# option; --encrypt-to still wins; an export of done/ and an ack stay
# plain; a key that is not the recipient's X25519 public key, or that
# others may write, is refused at its line.
cp "$keys/test-oms.key" "$t/etc/oms.key"
cp "$keys/test-scf.pub" "$t/etc/scf.pub"
echo user:pw >"$t/etc/cartegraph.cred"
chmod 600 "$t/etc/oms.key" "$t/etc/cartegraph.cred"
"$bin" config example --half oms |
	sed -e "s#<root>/var/spool/scfgate</root>#<root>$t/send</root>#" \
		-e "s#/etc/scfgate#$t/etc#g" \
		-e "s#</peerPublicKey>#</peerPublicKey><bundleRecipientKey>$t/etc/scf.x25519.pub</bundleRecipientKey>#" \
		>"$t/oms.xml"
"$bin" config check "$t/oms.xml" >"$t/out" || fail "config check (recipient): $("$bin" config check "$t/oms.xml" 2>&1)"
grep -q "^  bundle recipient key: $t/etc/scf.x25519.pub\$" "$t/out" ||
	fail "config check (recipient): $(cat "$t/out")"
"$bin" bundle export --config "$t/oms.xml" --out "$t/media/byconf.tar.zst.enc" >"$t/out" ||
	fail "export by configuration"
grep -q "byconf.tar.zst.enc: 2 record(s), .* bytes, encrypted to key $id" "$t/out" ||
	fail "export by configuration: $(cat "$t/out")"
[ "$(head -c 8 "$t/media/byconf.tar.zst.enc")" = SCFGSEAL ] || fail "export by configuration: no magic"
"$bin" bundle import "$t/media/byconf.tar.zst.enc" --config "$t/scf.xml" >"$t/out" ||
	fail "import of the export by configuration: $(cat "$t/out")"
grep -q "decrypted with key $id" "$t/out" || fail "import (recipient): $(cat "$t/out")"
"$bin" bundle export --config "$t/oms.xml" --encrypt-to "$t/etc/other2.x25519.pub" \
	--out "$t/media/other.tar.enc" >"$t/out" || fail "export --encrypt-to over the configuration"
grep -q "encrypted to key $other\$" "$t/out" || fail "--encrypt-to over the configuration: $(cat "$t/out")"
mkdir -p "$t/send/inbound/done"
cp "$src"/tests/data/records/00000000000000000007-oms.xml "$t/send/inbound/done/"
"$bin" bundle export --config "$t/oms.xml" --done --out "$t/media/archive.tar" >"$t/out" ||
	fail "export --done (recipient)"
grep -q "encrypted" "$t/out" && fail "an export of done/ was encrypted: $(cat "$t/out")"
[ "$(head -c 8 "$t/media/archive.tar")" != SCFGSEAL ] || fail "an export of done/ was encrypted"
sed -e "s#scf.x25519.pub</bundleRecipientKey>#scf.pub</bundleRecipientKey>#" "$t/oms.xml" >"$t/rcpt-ed.xml"
refused "a signing key as the recipient" "rcpt-ed.xml:[0-9]*: bundleRecipientKey: $t/etc/scf.pub: not an X25519 key" \
	"$bin" config check "$t/rcpt-ed.xml"
chmod 666 "$t/etc/scf.x25519.pub"
refused "a recipient key others may write" "oms.xml:[0-9]*: bundleRecipientKey: .*writable by group or others (mode 666)" \
	"$bin" config check "$t/oms.xml"
chmod 644 "$t/etc/scf.x25519.pub"

# Usage: the options belong to their sub-commands.
set +e
"$bin" bundle ack --root "$t/recv" --queue inbound --key "$t/etc/scf.key" \
	--encrypt-to "$t/etc/scf.x25519.pub" --out "$t/media/ack.tar" 2>/dev/null
[ $? -eq 2 ] || fail "ack --encrypt-to"
"$bin" bundle import "$t/media/in.tar.enc" --root "$t/recv" --queue inbound \
	--pubkey "$keys/test-oms.pub" --encrypt-to "$t/etc/scf.x25519.pub" 2>/dev/null
[ $? -eq 2 ] || fail "import --encrypt-to"
echo "encrypted bundle CLI: ok"
