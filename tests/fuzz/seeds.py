#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/TARGET/:
# valid inputs of each kind, from which libFuzzer mutates. Run it again when a
# format changes:   tests/fuzz/seeds.py
#
# The keys are those the targets make (rfl-fuzz.c): Ed25519 from a seed of 32
# equal bytes, X25519 from the same seed with its first byte inverted, the id
# BLAKE2b-128 of the signing key. So an envelope written here opens there.

import base64
import hashlib
import json
import os
import secrets
import shutil
import struct
import sys
import zlib

import nacl.bindings
import nacl.public
import nacl.signing

TOP = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(TOP, "corpus")
DEVICE_ID = "0123456789abcdef0123456789abcdef"
OTHER_ID = "fedcba9876543210fedcba9876543210"
RECORD_ID = "5f0c2a8e-6b1d-4c3e-9a7f-2d4b8e1c0a9f"
H = 115816896921600000


def keys(seed_byte):
    seed = bytes([seed_byte]) * 32
    sign = nacl.signing.SigningKey(seed)
    box = nacl.public.PrivateKey.from_seed(bytes([seed_byte ^ 0xff]) + seed[1:])
    ident = hashlib.blake2b(bytes(sign.verify_key), digest_size=16).digest()
    return sign, box, ident


def seal(plain, sender, recipient_box_pk, recipient_id):
    """An envelope (format 1, suite 1), as docs/PROTOCOL.md says."""
    b = nacl.bindings
    sign, _, me = sender
    key = secrets.token_bytes(32)
    state = b.crypto_secretstream_xchacha20poly1305_state()
    header = b.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    packed = zlib.compress(plain)
    pieces = [packed[i:i + 65536] for i in range(0, len(packed), 65536)] or [b""]
    if len(pieces[-1]) == 65536:
        pieces.append(b"")
    payload = header + b"".join(
        b.crypto_secretstream_xchacha20poly1305_push(
            state, p, None, b.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == len(pieces) - 1 else 0)
        for i, p in enumerate(pieces))
    stream = hashlib.blake2b(b"reunite-stream-v1" + me + recipient_id, digest_size=16).digest()
    head = (b"RFLE" + bytes([1, 1]) + struct.pack(">H", 194 + 96) + me + stream + struct.pack(">QQ", 1, 1) +
            b"\0" * 32 + struct.pack(">Q", len(payload)) + hashlib.blake2b(payload, digest_size=32).digest() +
            struct.pack(">H", 1) + recipient_id + b.crypto_box_seal(key, recipient_box_pk))
    return head + sign.sign(head).signature + payload


def record(kind="tracing_request"):
    if kind == "registration":
        return {"id": RECORD_ID, "type": "registration", "subtype": "found_person", "status": "open",
                "person": {"given_name": "Neema", "family_name": "Bahati", "sex": "female"}}
    if kind == "note":
        return {"id": RECORD_ID, "type": "note", "record": RECORD_ID, "kind": "contact_attempt",
                "outcome": "no_answer", "text": "Called twice"}
    if kind == "message":
        return {"id": RECORD_ID, "type": "message", "status": "open"}
    return {"id": RECORD_ID, "type": "tracing_request", "status": "open",
            "enquirer": {"given_name": "Amina", "family_name": "Yusuf"},
            "sought": [{"given_name": "Ibrahim", "family_name": "Yusuf", "relationship": "son"}],
            "consent": {"tracing": True, "share_within_movement": True}}


def ops(device):
    clock = [H, device]
    return [
        {"r": RECORD_ID, "o": "create", "h": H, "d": device, "c": record(), "l": 1},
        {"r": RECORD_ID, "o": "update", "h": H + 1, "d": device, "c": {"description": "seen in Goma"},
         "b": {"description": None}, "l": 1},
        {"r": RECORD_ID, "o": "update", "h": H + 2, "d": device,
         "c": {"status": "closed", "closure_reason": "located"}, "b": {"status": clock}, "k": {"": [H + 2, device]},
         "l": 1},
        {"r": RECORD_ID, "o": "share", "h": H + 3, "d": device, "c": {"$share": "Bukavu"}, "l": 1},
        {"r": RECORD_ID, "o": "delete", "h": H + 4, "d": device, "c": {"$cl": 2}, "l": 2},
        {"r": RECORD_ID, "o": "purge", "h": H + 5, "d": device,
         "c": {"$purged": True, "$type": "tracing_request", "$status": "closed", "$status_clock": clock,
               "$shares": ["Bukavu"]}, "l": 1},
        {"r": RECORD_ID, "o": "snapshot", "h": H + 6, "d": device,
         "c": dict(record(), **{"$owner": "Goma", "$shares": ["Uvira"], "$cl": 1}), "l": 1},
        {"r": RECORD_ID, "o": "conflict", "h": H + 7, "d": device,
         "c": {"$conflict": {"id": "c1", "field": "description", "winner": {"value": "a", "clock": clock},
                             "loser": {"value": "b", "clock": [H - 1, device]}}}, "l": 1},
        {"r": RECORD_ID, "o": "resolve", "h": H + 8, "d": device, "c": {"$conflict": "c1", "$choice": "take"},
         "l": 1},
    ]


def bundle(op_list, **extra):
    return json.dumps(dict({"format": "reunite-bundle-v1", "ops": op_list}, **extra)).encode()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    device, hq = keys(1), keys(2)
    dev_hex = device[2].hex()
    all_ops = ops(dev_hex)

    # fuzz-envelope: 0 + an envelope from the device to HQ; 1 + a plaintext.
    plain = bundle(all_ops[:2], through=0)
    write("fuzz-envelope", "sealed", b"\0" + seal(plain, device, bytes(hq[1].public_key), hq[2]))
    write("fuzz-envelope", "sealed-empty", b"\0" + seal(bundle([]), device, bytes(hq[1].public_key), hq[2]))
    write("fuzz-envelope", "plain", b"\1" + plain)

    # fuzz-merge: 0 + a bundle HQ merges; 1 + a bundle a device merges.
    for i, op in enumerate(all_ops):
        write("fuzz-merge", "hub-%d-%s" % (i, op["o"]), b"\0" + bundle([op]))
        write("fuzz-merge", "device-%d-%s" % (i, op["o"]), b"\1" + bundle([op]))
    write("fuzz-merge", "hub-all", b"\0" + bundle(all_ops))

    # fuzz-signed.
    token = {"format": "reunite-enrollment-v1", "hq_url": "http://127.0.0.1:8470", "hq_id": hq[2].hex(),
             "hq_sign_pk": base64.b64encode(bytes(hq[0].verify_key)).decode(),
             "hq_box_pk": base64.b64encode(bytes(hq[1].public_key)).decode(), "office": "Goma",
             "token": "0" * 32, "secret": "1" * 64, "expires": 1900000000000}
    write("fuzz-signed", "token", b"\0" + json.dumps(token).encode())
    roster = {"format": "reunite-roster-v1", "version": 3, "devices": [
        {"id": dev_hex, "office": "Goma", "status": "active",
         "sign_pk": base64.b64encode(bytes(device[0].verify_key)).decode(),
         "box_pk": base64.b64encode(bytes(device[1].public_key)).decode()},
        {"id": OTHER_ID, "office": "Bukavu", "status": "revoked", "sign_pk": "A" * 43 + "=", "box_pk": "A" * 43 + "="}]}
    text = json.dumps(roster).encode()
    write("fuzz-signed", "roster", b"\1" + text)
    write("fuzz-signed", "roster-signed", b"\2" + b"RFLR" + hq[0].sign(text).signature + text)
    notice = json.dumps({"format": "reunite-revocation-v1", "device": dev_hex}).encode()
    write("fuzz-signed", "notice", b"\3" + b"RFLN" + hq[0].sign(notice).signature + notice)
    proof = device[0].sign(("reunite-enroll-v1\n%s\n%s" % ("0" * 32, dev_hex)).encode()).signature.hex()
    write("fuzz-signed", "enroll", b"\4" + json.dumps({
        "token": "0" * 32, "secret": "1" * 64, "device": dev_hex,
        "sign_pk": base64.b64encode(bytes(device[0].verify_key)).decode(),
        "box_pk": base64.b64encode(bytes(device[1].public_key)).decode(), "proof": proof}).encode())

    # fuzz-schema.
    for kind in ("tracing_request", "registration", "note", "message"):
        write("fuzz-schema", kind, json.dumps(record(kind)).encode())

    # fuzz-keyfile: a key file as rfl_keyfile_write makes it.
    write("fuzz-keyfile", "key", json.dumps({
        "format": "reunite-key-v1", "kdf": "argon2id13", "opslimit": 2, "memlimit": 67108864,
        "salt": base64.b64encode(b"s" * 16).decode(), "aead": "xchacha20poly1305-ietf",
        "nonce": base64.b64encode(b"n" * 24).decode(), "wrapped_key": base64.b64encode(b"w" * 48).decode()},
        indent=2).encode())

    # fuzz-request-auth: device, time, nonce, signature, method, path, body.
    lines = [dev_hex, "1800000000", "ab" * 16, "00" * 64, "POST", "/v1/push", "body"]
    write("fuzz-request-auth", "given", b"\0" + "\n".join(lines).encode())
    write("fuzz-request-auth", "signed", b"\1" + "\n".join(lines).encode())

    # fuzz-hq-http: 0 + raw HTTP; 1 + "METHOD PATH\nBODY", signed by the enrolled device.
    write("fuzz-hq-http", "ping-unsigned", b"\0GET /v1/ping HTTP/1.1\r\nHost: hq\r\nConnection: close\r\n\r\n")
    enroll = b'{"token": "x", "secret": "y"}'
    write("fuzz-hq-http", "enroll", b"\0POST /v1/enroll HTTP/1.1\r\nHost: hq\r\nContent-Length: %d\r\n"
          b"Connection: close\r\n\r\n" % len(enroll) + enroll)
    for name, req in (("ping", b"GET /v1/ping\n"), ("roster", b"GET /v1/roster\n"), ("state", b"GET /v1/state\n"),
                      ("pull", b"GET /v1/pull?have=0&after=0\n"), ("resync", b"POST /v1/resync\n"),
                      ("rebase", b'POST /v1/rebase\n{"challenge": "00112233445566778899aabbccddeeff"}'),
                      ("push", b"POST /v1/push\n" + seal(bundle(all_ops[:1]), device, bytes(hq[1].public_key),
                                                          hq[2]))):
        write("fuzz-hq-http", name, b"\1" + req)


if __name__ == "__main__":
    sys.exit(main())
