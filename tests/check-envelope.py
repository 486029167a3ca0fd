#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# An independent reader of Reunite envelopes, written from docs/PROTOCOL.md
# with PyNaCl (python3-nacl): verifies the signature and the payload hash,
# unseals the file key, decrypts the secret stream, inflates, and compares
# with the expected plaintext. Prints "ok" or the first mismatch.
#
# Usage: check-envelope.py VECTOR.json

import hashlib
import json
import struct
import sys
import zlib

import nacl.bindings as b
from nacl.signing import VerifyKey

FIXED, RECIPIENT, SIG, CHUNK = 130, 96, 64, 65536
ABYTES = b.crypto_secretstream_xchacha20poly1305_ABYTES
STREAM_HEADER = b.crypto_secretstream_xchacha20poly1305_HEADERBYTES
TAG_FINAL = b.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def fail(why):
    print(why)
    sys.exit(1)


def main(path):
    v = json.load(open(path))
    env = bytes.fromhex(v["envelope"])
    if env[0:4] != b"RFLE" or env[4] != 1 or env[5] != 1:
        fail("bad magic, version or suite")
    header_len, = struct.unpack(">H", env[6:8])
    sender, stream = env[8:24], env[24:40]
    seq_from, seq_to = struct.unpack(">QQ", env[40:56])
    payload_len, = struct.unpack(">Q", env[88:96])
    payload_hash = env[96:128]
    n, = struct.unpack(">H", env[128:130])
    if header_len != FIXED + n * RECIPIENT + SIG or payload_len != len(env) - header_len:
        fail("sizes do not add up")

    VerifyKey(bytes.fromhex(v["sender_sign_pk"])).verify(env[:header_len - SIG], env[header_len - SIG:header_len])
    payload = env[header_len:]
    if hashlib.blake2b(payload, digest_size=32).digest() != payload_hash:
        fail("payload hash mismatch")

    my_id = bytes.fromhex(v["recipient_id"])
    sealed = None
    for i in range(n):
        r = env[FIXED + i * RECIPIENT:FIXED + (i + 1) * RECIPIENT]
        if r[:16] == my_id:
            sealed = r[16:]
    if sealed is None:
        fail("not a recipient")
    key = b.crypto_box_seal_open(sealed, bytes.fromhex(v["recipient_box_pk"]), bytes.fromhex(v["recipient_box_sk"]))

    state = b.crypto_secretstream_xchacha20poly1305_state()
    b.crypto_secretstream_xchacha20poly1305_init_pull(state, payload[:STREAM_HEADER], key)
    pos, compressed, tag = STREAM_HEADER, b"", None
    while pos < len(payload) and tag != TAG_FINAL:
        chunk = payload[pos:pos + CHUNK + ABYTES]
        message, tag = b.crypto_secretstream_xchacha20poly1305_pull(state, chunk)
        compressed += message
        pos += len(chunk)
    if tag != TAG_FINAL or pos != len(payload):
        fail("secret stream truncated or padded")

    if zlib.decompress(compressed) != bytes.fromhex(v["plaintext"]):
        fail("plaintext mismatch")
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
