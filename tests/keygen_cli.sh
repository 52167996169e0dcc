#!/bin/sh
# keygen_cli.sh SCFGATE: `scfgate keygen` on real files: the key id it
# prints, file modes, refusal to overwrite, usage errors and --help.
bin=$1
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
fail() { echo "keygen_cli: $*" >&2; exit 1; }

id=$("$bin" keygen --dir "$d" --name scf) || fail "keygen failed"
echo "$id" | grep -Eq '^[0-9a-f]{16}$' || fail "key id '$id' is not 16 hex digits"
[ "$(stat -c %a "$d/scf.key")" = 600 ] || fail "scf.key is not mode 0600"
[ "$(stat -c %a "$d/scf.pub")" = 644 ] || fail "scf.pub is not mode 0644"
grep -q 'BEGIN PRIVATE KEY' "$d/scf.key" || fail "scf.key is not PKCS#8 PEM"
grep -q 'BEGIN PUBLIC KEY' "$d/scf.pub" || fail "scf.pub is not PEM"

cp "$d/scf.key" "$d/before"
"$bin" keygen --dir "$d" --name scf 2>"$d/err" >/dev/null
[ $? = 1 ] || fail "overwrite did not exit 1"
grep -q 'refusing to overwrite' "$d/err" || fail "overwrite message: $(cat "$d/err")"
cmp -s "$d/scf.key" "$d/before" || fail "existing key was changed"

"$bin" keygen --dir="$d" --name=oms --json >"$d/json" || fail "--json failed"
grep -Eq '^\{"key_id":"[0-9a-f]{16}","private":".*/oms.key","public":".*/oms.pub"\}$' "$d/json" ||
	fail "--json output: $(cat "$d/json")"

# --x25519: the encryption key pair beside the signing one; its key id is
# the first 8 bytes of SHA-256 of the raw public key (as openssl says);
# only the id is printed, never key material.
xid=$("$bin" keygen --dir "$d" --name scf --x25519) || fail "keygen --x25519 failed"
[ "$(stat -c %a "$d/scf.x25519.key")" = 600 ] || fail "scf.x25519.key is not mode 0600"
[ "$(stat -c %a "$d/scf.x25519.pub")" = 644 ] || fail "scf.x25519.pub is not mode 0644"
openssl pkey -in "$d/scf.x25519.key" -noout -text 2>/dev/null | grep -q '^X25519 Private-Key' ||
	fail "scf.x25519.key is not an X25519 key"
want=$(openssl pkey -pubin -in "$d/scf.x25519.pub" -outform DER | tail -c 32 |
	openssl dgst -sha256 -r | cut -c1-16)
[ "$xid" = "$want" ] || fail "x25519 key id '$xid', openssl says '$want'"
cmp -s "$d/scf.key" "$d/before" || fail "keygen --x25519 changed the Ed25519 key"
"$bin" keygen --dir "$d" --name scf --x25519 2>"$d/err" >/dev/null
[ $? = 1 ] && grep -q 'scf.x25519.key: key already exists' "$d/err" ||
	fail "x25519 overwrite: $(cat "$d/err")"
"$bin" keygen --dir "$d" --name oms --x25519 --json >"$d/json" || fail "--x25519 --json failed"
grep -Eq '^\{"key_id":"[0-9a-f]{16}","private":".*/oms.x25519.key","public":".*/oms.x25519.pub"\}$' \
	"$d/json" || fail "--x25519 --json output: $(cat "$d/json")"

"$bin" keygen --dir "$d" 2>"$d/err"; [ $? = 2 ] || fail "missing --name did not exit 2"
[ "$(wc -l <"$d/err")" = 1 ] && grep -q '^scfgate keygen: ' "$d/err" || fail "usage line: $(cat "$d/err")"
"$bin" keygen --dir "$d" --name 'Bad/Name' 2>/dev/null; [ $? = 2 ] || fail "bad name accepted"
"$bin" keygen --bogus 2>/dev/null; [ $? = 2 ] || fail "unknown option accepted"
"$bin" keygen --help | grep -q '^usage: scfgate keygen' || fail "--help"
[ ! -e "$d/Bad" ] || fail "bad name created files"
exit 0
