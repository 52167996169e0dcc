#!/usr/bin/env python3
# Computes the sealed-bundle test vectors of this directory with an
# implementation independent of scfgate (python3-cryptography), from the
# format in spool/seal.h: recipient.x25519.key/.pub, ephemeral.x25519.key,
# chunk size 64.  Writes vector-N.plain, vector-N.sealed and vector.txt
# (the shared secret and HKDF output, which test_seal_vector.sh checks
# again with the openssl command line).  Run it from this directory; the
# output is deterministic, so running it again changes nothing.
import hashlib
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def load_priv(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


rcpt = load_priv("recipient.x25519.key")
eph = load_priv("ephemeral.x25519.key")
rcpt_pub = rcpt.public_key().public_bytes(*raw)
eph_pub = eph.public_key().public_bytes(*raw)
shared = eph.exchange(rcpt.public_key())
info = b"scfgate-seal 1 chacha20-poly1305"
okm = HKDF(hashes.SHA256(), 39, eph_pub + rcpt_pub, info).derive(shared)
key, prefix = okm[:32], okm[32:]
chunk = 64
header = (b"SCFGSEAL" + bytes([1, 1, 0, 0]) + struct.pack(">I", chunk)
          + hashlib.sha256(rcpt_pub).digest()[:8] + eph_pub)
assert len(header) == 56


def seal(plain):
    out = bytearray(header)
    aead = ChaCha20Poly1305(key)
    pieces = [plain[i:i + chunk] for i in range(0, len(plain) - len(plain) % chunk, chunk)]
    pieces.append(plain[len(plain) - len(plain) % chunk:])  # last: 0..chunk-1 bytes
    for i, p in enumerate(pieces):
        last = i == len(pieces) - 1
        nonce = prefix + struct.pack(">I", i) + bytes([1 if last else 0])
        out += aead.encrypt(nonce, p, header)
    return bytes(out)


plains = [
    bytes((i * 7 + 3) % 256 for i in range(150)),  # chunks of 64, 64 and 22 bytes
    bytes((i * 13 + 1) % 256 for i in range(128)),  # 64, 64 and an empty last chunk
    b"",  # one empty last chunk
]
for n, p in enumerate(plains, 1):
    with open(f"vector-{n}.plain", "wb") as f:
        f.write(p)
    with open(f"vector-{n}.sealed", "wb") as f:
        f.write(seal(p))
with open("vector.txt", "w") as f:
    f.write(f"recipient_pub {rcpt_pub.hex()}\n")
    f.write(f"ephemeral_pub {eph_pub.hex()}\n")
    f.write(f"shared {shared.hex()}\n")
    f.write(f"salt {(eph_pub + rcpt_pub).hex()}\n")
    f.write(f"info {info.hex()}\n")
    f.write(f"okm {okm.hex()}\n")
