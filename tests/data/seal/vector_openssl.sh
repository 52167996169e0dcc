#!/bin/sh
# The key schedule of the sealed-bundle test vectors (vector.txt, made by
# make_vector.py with python3-cryptography) computed once more with the
# openssl command line, a third implementation: the raw public keys, the
# X25519 shared secret (pkeyutl -derive), the HKDF-SHA256 output (kdf),
# and the header of vector-1.sealed (key id, ephemeral key).  scfgate's
# own output is compared with the same vectors by test_seal.
# Usage: vector_openssl.sh DIR (this directory)
set -eu
d=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
val() { sed -n "s/^$1 //p" "$d/vector.txt"; }
rawpub() { openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | od -An -v -tx1 | tr -d ' \n'; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# openssl reads private keys of any mode; the copies keep the test honest
# about what it reads.
cp "$d/ephemeral.x25519.key" "$t/e.key"
chmod 600 "$t/e.key"
openssl pkey -in "$t/e.key" -pubout -out "$t/e.pub"

rcpt=$(rawpub "$d/recipient.x25519.pub")
eph=$(rawpub "$t/e.pub")
[ "$rcpt" = "$(val recipient_pub)" ] || fail "recipient public key: $rcpt"
[ "$eph" = "$(val ephemeral_pub)" ] || fail "ephemeral public key: $eph"

shared=$(openssl pkeyutl -derive -inkey "$t/e.key" -peerkey "$d/recipient.x25519.pub" |
	od -An -v -tx1 | tr -d ' \n')
[ "$shared" = "$(val shared)" ] || fail "shared secret: $shared"

okm=$(openssl kdf -keylen 39 -kdfopt digest:SHA256 -kdfopt "hexkey:$shared" \
	-kdfopt "hexsalt:$eph$rcpt" -kdfopt "hexinfo:$(val info)" HKDF | tr -d ':\n' |
	tr 'A-F' 'a-f')
[ "$okm" = "$(val okm)" ] || fail "HKDF output: $okm"
info=$(printf 'scfgate-seal 1 chacha20-poly1305' | od -An -v -tx1 | tr -d ' \n')
[ "$info" = "$(val info)" ] || fail "info string: $info"

# Header: magic, version 1, cipher 1, reserved 0, chunk 64, key id, ephemeral key.
kid=$(printf '%s' "$rcpt" | sed 's/../\\x&/g' | xargs -0 printf '%b' | openssl dgst -sha256 -r |
	cut -c1-16)
head=$(head -c 56 "$d/vector-1.sealed" | od -An -v -tx1 | tr -d ' \n')
want=$(printf 'SCFGSEAL' | od -An -v -tx1 | tr -d ' \n')0101000000000040$kid$eph
[ "$head" = "$want" ] || fail "header: $head, expected $want"
echo "vector key schedule and header agree with openssl"
