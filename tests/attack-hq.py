#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Attacks on reunite-hq from outside, with a client written from
# docs/PROTOCOL.md alone (PyNaCl for the keys and signatures), over HTTP on
# loopback. HQ is restarted between the steps of an attack, as an attacker
# would wait for it. Every step is bounded and the run stops by itself.
#
#   attack-hq.py REUNITE_HQ
#
# TAP output.

import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import struct
import tempfile
import time
import uuid
import zlib

import nacl.bindings
import nacl.public
import nacl.signing

HQ = sys.argv[1]
PASSPHRASE = "correct horse battery staple"
steps = 0
failed = False


def ok(cond, what):
    global steps, failed
    steps += 1
    print("%s %d %s" % ("ok" if cond else "not ok", steps, what), flush=True)
    failed |= not cond
    return cond


class Hq:
    def __init__(self, top):
        self.dir = os.path.join(top, "hq")
        self.pw = os.path.join(top, "pw")
        with open(self.pw, "w") as f:
            f.write(PASSPHRASE)
        self.proc = None
        self.port = None
        self.run("--kdf", "interactive", "init")

    def run(self, *args, check=True):
        r = subprocess.run([HQ, "--dir", self.dir, "--passphrase-file", self.pw, *args],
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("reunite-hq %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def start(self):
        self.stderr = self.dir + ".stderr"
        with open(self.stderr, "a") as err:
            self.proc = subprocess.Popen([HQ, "--dir", self.dir, "--passphrase-file", self.pw, "serve", "--listen",
                                          "127.0.0.1:%d" % (self.port or 0)], stdout=subprocess.PIPE,
                                         stderr=err, text=True)
        line = self.proc.stdout.readline()
        self.port = int(json.loads(line)["listening"].rsplit(":", 1)[1])
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
            self.proc = None

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def token(self, office):
        path = os.path.join(os.path.dirname(self.dir), "token-%s" % secrets.token_hex(4))
        self.run("enroll", "--office", office, "--url", "http://127.0.0.1:%d" % self.port, "--out", path)
        with open(path) as f:
            return json.load(f)

    def devices(self):
        out = self.run("devices").stdout
        return {d["id"]: d for d in (json.loads(line) for line in out.splitlines() if line.strip())}

    def audit(self):
        out = self.run("audit").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def request(port, method, path, body=b"", headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    h = dict(headers or {})
    if method == "POST":
        h["Content-Length"] = str(len(body))
    conn.request(method, path, body=body if method == "POST" else None, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


class Device:
    """Keys, as a device makes them; the id is BLAKE2b-128 of the signing key."""

    def __init__(self, sign=None, box=None):
        self.sign = sign or nacl.signing.SigningKey.generate()
        self.box = box or nacl.public.PrivateKey.generate()
        self.sign_pk = bytes(self.sign.verify_key)
        self.id = hashlib.blake2b(self.sign_pk, digest_size=16).hexdigest()

    def enroll_body(self, token):
        proof = self.sign.sign(("reunite-enroll-v1\n%s\n%s" % (token["token"], self.id)).encode()).signature
        return json.dumps({"token": token["token"], "secret": token["secret"], "device": self.id,
                           "sign_pk": base64.b64encode(self.sign_pk).decode(),
                           "box_pk": base64.b64encode(bytes(self.box.public_key)).decode(),
                           "proof": proof.hex()}).encode()

    def headers(self, method, path, body=b"", when=None):
        t = str(int(when if when is not None else time.time()))
        nonce = secrets.token_hex(16)
        text = "\n".join(["reunite-request-v1", method, path, self.id, t, nonce,
                          hashlib.blake2b(body, digest_size=32).hexdigest()])
        sig = self.sign.sign(text.encode()).signature.hex()
        return {"Reunite-Device": self.id, "Reunite-Time": t, "Reunite-Nonce": nonce, "Reunite-Signature": sig}

    def call(self, hq, method, path, body=b"", source="127.0.0.1"):
        return request(hq.port, method, path, body, self.headers(method, path, body), source)


CHUNK = 65536
STREAM_HEADER = nacl.bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES


def stream_id(sender, recipient):
    return hashlib.blake2b(b"reunite-stream-v1" + sender + recipient, digest_size=16).digest()


def seal(dev, token, bundle, seq_from, seq_to, prev=b"\0" * 32, stream=None, trailing=b"", copies=1):
    """An envelope (format 1, suite 1) from dev to HQ, as PROTOCOL.md says.
    For attacks: another stream id, bytes after the zlib stream, HQ named
    as a recipient more than once."""
    b = nacl.bindings
    key = secrets.token_bytes(32)
    state = b.crypto_secretstream_xchacha20poly1305_state()
    header = b.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    packed = zlib.compress(text.encode()) + trailing
    pieces = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)]
    if not pieces or len(pieces[-1]) == CHUNK:
        pieces.append(b"")
    payload = header + b"".join(
        b.crypto_secretstream_xchacha20poly1305_push(
            state, p, None, b.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == len(pieces) - 1 else 0)
        for i, p in enumerate(pieces))
    hq_id = bytes.fromhex(token["hq_id"])
    recipients = b"".join(hq_id + b.crypto_box_seal(key, base64.b64decode(token["hq_box_pk"]))
                          for _ in range(copies))
    me = bytes.fromhex(dev.id)
    head = (b"RFLE" + bytes([1, 1]) + struct.pack(">H", 194 + 96 * copies) + me +
            (stream if stream is not None else stream_id(me, hq_id)) +
            struct.pack(">QQ", seq_from, seq_to) + prev + struct.pack(">Q", len(payload)) +
            hashlib.blake2b(payload, digest_size=32).digest() + struct.pack(">H", copies) + recipients)
    return head + dev.sign.sign(head).signature + payload


def open_envelope(dev, env):
    """Opens an envelope addressed to dev; returns the bundle."""
    b = nacl.bindings
    header_len, = struct.unpack(">H", env[6:8])
    n, = struct.unpack(">H", env[128:130])
    me = bytes.fromhex(dev.id)
    for i in range(n):
        r = env[130 + 96 * i:130 + 96 * (i + 1)]
        if r[:16] == me:
            key = b.crypto_box_seal_open(r[16:], bytes(dev.box.public_key), bytes(dev.box))
    payload = env[header_len:]
    state = b.crypto_secretstream_xchacha20poly1305_state()
    b.crypto_secretstream_xchacha20poly1305_init_pull(state, payload[:STREAM_HEADER], key)
    out, pos = b"", STREAM_HEADER
    while pos < len(payload):
        piece, _ = b.crypto_secretstream_xchacha20poly1305_pull(state, payload[pos:pos + CHUNK + 17])
        out += piece
        pos += CHUNK + 17
    return json.loads(zlib.decompress(out))


def pull_all(hq, dev):
    ops, have = [], 0
    for _ in range(50):
        status, body = dev.call(hq, "GET", "/v1/pull?have=%d" % have)
        if status == 204:
            break
        if status != 200:
            raise RuntimeError("pull: %d %s" % (status, body[:200]))
        ops += open_envelope(dev, body)["ops"]
        have += 1
    return ops


def rogue_records_refused(hq):
    """Worrying: a rogue device pushed type bogus_type, status weird and
    the id ../../../../pwned, and HQ relayed them to every office device."""
    token = hq.token("Bukavu")
    rogue, reader = Device(), Device()
    request(hq.port, "POST", "/v1/enroll", rogue.enroll_body(token))
    request(hq.port, "POST", "/v1/enroll", reader.enroll_body(hq.token("Bukavu")))
    h = int(time.time() * 1000) << 16

    def record(rid, **over):
        doc = {"id": rid, "type": "tracing_request", "status": "open",
               "enquirer": {"given_name": "Amina"}, "sought": [{"given_name": "Ibrahim"}],
               "consent": {"tracing": True, "share_within_movement": True}}
        doc.update(over)
        return {"r": rid, "o": "create", "h": h, "d": rogue.id, "c": doc, "l": 1}

    good = str(uuid.uuid4())
    bad = [record(str(uuid.uuid4()), type="bogus_type"), record(str(uuid.uuid4()), status="weird"),
           record("../../../../pwned"), record(str(uuid.uuid4()), eye_colour="brown")]
    bad[2]["c"]["id"] = str(uuid.uuid4())
    ops = bad[:2] + [record(good)] + bad[2:]
    env = seal(rogue, token, {"format": "reunite-bundle-v1", "ops": ops, "through": 0}, 1, len(ops))
    status, body = rogue.call(hq, "POST", "/v1/push", env)
    answer = json.loads(body) if status == 200 else {}
    ok(status == 200, "HQ takes the bundle (%d %s)" % (status, body[:160]))
    ok(sorted(answer.get("refused", [])) == sorted(op["r"] for op in bad),
       "and names the %d operations it refused (%s)" % (len(bad), answer.get("refused")))
    hq.restart()
    relayed = {op["r"] for op in pull_all(hq, reader)}
    ok(good in relayed and not relayed & {op["r"] for op in bad},
       "another Bukavu device receives the valid record only (%d records)" % len(relayed))
    refused = [e for e in hq.audit() if e.get("action") == "refused"]
    ok(len(refused) >= len(bad), "each refusal is in HQ's audit log (%d)" % len(refused))

    # Worrying: a same-office device purged an open case everywhere.
    prev = hashlib.blake2b(env[:194 + 96], digest_size=32).digest()
    purge = {"r": good, "o": "purge", "h": h + 1, "d": rogue.id, "c": {}, "l": 1}
    env2 = seal(rogue, token, {"format": "reunite-bundle-v1", "ops": [purge], "through": 0},
                len(ops) + 1, len(ops) + 1, prev)
    status, body = rogue.call(hq, "POST", "/v1/push", env2)
    answer = json.loads(body) if status == 200 else {}
    ok(status == 200 and answer.get("refused") == [good],
       "a purge of an open case is refused (%d %s)" % (status, answer.get("refused")))
    # Smaller: a 5,000-deep JSON value inside an op got 500.
    prev2 = hashlib.blake2b(env2[:194 + 96], digest_size=32).digest()
    deep = {"r": str(uuid.uuid4()), "o": "update", "h": h + 2, "d": rogue.id, "l": 1,
            "c": {"description": "PLACEHOLDER"}}
    text = json.dumps({"format": "reunite-bundle-v1", "ops": [deep], "through": 0})
    text = text.replace('"PLACEHOLDER"', "[" * 5000 + "]" * 5000)
    env3 = seal(rogue, token, text, len(ops) + 2, len(ops) + 2, prev2)
    status, body = rogue.call(hq, "POST", "/v1/push", env3)
    ok(status == 400 and b"malformed" in body, "a 5,000-deep value in an op gets 400 (%d %s)" % (status, body[:100]))

    late = Device()
    request(hq.port, "POST", "/v1/enroll", late.enroll_body(hq.token("Bukavu")))
    got = [op for op in pull_all(hq, late) if op["r"] == good]
    ok(got and all(op["o"] != "purge" for op in got) and got[0]["c"].get("enquirer"),
       "and the case reaches a new Bukavu device whole (%s)" % [op["o"] for op in got])


def spec_bytes(hq):
    """The spec must match the bytes: HQ checks the stream id, refuses bytes
    after the zlib stream and a recipient named twice; `through` is optional."""
    token = hq.token("Uvira")
    dev, other = Device(), Device()
    request(hq.port, "POST", "/v1/enroll", dev.enroll_body(token))
    request(hq.port, "POST", "/v1/enroll", other.enroll_body(hq.token("Uvira")))
    h = int(time.time() * 1000) << 16
    rid = str(uuid.uuid4())
    doc = {"id": rid, "type": "tracing_request", "status": "open", "enquirer": {"given_name": "Neema"},
           "sought": [{"given_name": "Baraka"}], "consent": {"tracing": True, "share_within_movement": True}}
    bundle = {"format": "reunite-bundle-v1", "ops": [{"r": rid, "o": "create", "h": h, "d": dev.id, "c": doc,
                                                       "l": 1}]}
    hq_id = bytes.fromhex(token["hq_id"])
    me, them = bytes.fromhex(dev.id), bytes.fromhex(other.id)
    for what, env, code in (
            ("another device's stream id", seal(dev, token, bundle, 1, 1, stream=stream_id(them, hq_id)),
             b"malformed"),
            ("HQ's stream to the device", seal(dev, token, bundle, 1, 1, stream=stream_id(hq_id, me)), b"malformed"),
            ("bytes after the zlib stream", seal(dev, token, bundle, 1, 1, trailing=b"\x00trailing"),
             b"corrupt_payload"),
            ("HQ named twice as a recipient", seal(dev, token, bundle, 1, 1, copies=2), b"malformed")):
        status, body = dev.call(hq, "POST", "/v1/push", env)
        ok(status == 400 and code in body, "an envelope with %s is refused (%d %s)" % (what, status, body[:120]))
    bad_through = dict(bundle, through=-1)
    bad_base = {"format": "reunite-bundle-v1", "ops": [dict(bundle["ops"][0], b={"given_name": [2 ** 64, dev.id]})]}
    for what, b in (("`through` of -1", bad_through), ("a base clock of 2^64", bad_base)):
        status, body = dev.call(hq, "POST", "/v1/push", seal(dev, token, b, 1, 1))
        ok(status == 400 and b"malformed" in body, "a bundle with %s is refused (%d %s)" % (what, status, body[:120]))
    hq.restart()
    status, body = dev.call(hq, "POST", "/v1/push", seal(dev, token, bundle, 1, 1))
    ok(status == 200 and json.loads(body).get("seq_to") == 1,
       "the honest envelope at the same seq, with no `through`, is taken after a restart (%d %s)"
       % (status, body[:120]))
    got = [op for op in pull_all(hq, other) if op["r"] == rid]
    ok(len(got) == 1, "and reaches the other Uvira device once (%d)" % len(got))


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return -1


def pre_auth_memory(hq):
    """Worrying: 24 unauthenticated connections holding 64 MiB bodies short
    by 1 KiB took HQ from 29 MB to 1.6 GB."""
    import socket
    size = 64 * 1024 * 1024
    before = rss_mb(hq.proc.pid)
    conns, answered = [], 0
    chunk = b"\0" * (1024 * 1024)
    for _ in range(24):
        s = socket.create_connection(("127.0.0.1", hq.port), timeout=10, source_address=("127.0.0.4", 0))
        s.sendall(b"POST /v1/push HTTP/1.1\r\nHost: hq\r\nContent-Length: %d\r\n\r\n" % size)
        try:
            for _ in range(size // len(chunk) - 1):
                s.sendall(chunk)
            s.sendall(chunk[:len(chunk) - 1024])
        except OSError:
            answered += 1
        conns.append(s)
    time.sleep(1)
    peak = rss_mb(hq.proc.pid)
    for s in conns:
        s.close()
    time.sleep(2)
    after = rss_mb(hq.proc.pid)
    ok(peak < before + 400, "HQ holds at most a bounded amount for unfinished bodies: %d MB, from %d (%d refused)"
       % (peak, before, answered))
    ok(after < before + 100, "and gives it back when they go: %d MB" % after)
    ok(rogue_ping(hq), "HQ still answers a device")


def malformed_lengths(hq):
    """Smaller: a duplicate or negative Content-Length got no answer for
    30 s; a body too large was read before the 413."""
    import socket
    cases = [(b"Content-Length: 5\r\nContent-Length: 7\r\n", b"hello", b" 400 "),
             (b"Content-Length: -5\r\n", b"hello", b" 400 "),
             (b"Content-Length: 10000000000\r\n", b"x" * 65536, b" 413 ")]
    for headers, body, want in cases:
        s = socket.create_connection(("127.0.0.1", hq.port), timeout=10, source_address=("127.0.0.5", 0))
        start = time.monotonic()
        s.sendall(b"POST /v1/push HTTP/1.1\r\nHost: hq\r\n" + headers + b"\r\n" + body)
        try:
            answer = s.recv(200)
        except OSError as e:
            answer = repr(e).encode()
        s.close()
        took = time.monotonic() - start
        ok(want in answer.split(b"\r\n")[0] and took < 3,
           "%s: %s in %.1f s" % (headers.strip().decode().replace("\r\n", " / "), answer.split(b"\r\n")[0].decode(errors="replace"), took))


def slow_headers(hq):
    """Worrying: 274 connections trickling headers stayed open for 70 s and
    more."""
    import socket
    conns = []
    for _ in range(274):
        try:
            s = socket.create_connection(("127.0.0.1", hq.port), timeout=5, source_address=("127.0.0.6", 0))
            s.setblocking(False)
            conns.append(s)
        except OSError:
            pass
    start = time.monotonic()
    line = b"GET /v1/ping HTTP/1.1\r\nX-Slow: " + b"a" * 40
    sent = 0
    while time.monotonic() - start < 14 and sent < len(line):
        for s in conns:
            try:
                s.send(line[sent:sent + 1])
            except OSError:
                pass
        sent += 1
        time.sleep(0.5)
    alive = 0
    for s in conns:
        try:
            s.setblocking(True)
            s.settimeout(0.2)
            alive += s.recv(1) != b""
        except socket.timeout:
            alive += 1
        except OSError:
            pass
        s.close()
    ok(alive == 0, "after %.0f s of trickled headers, %d of %d connections are still open"
       % (time.monotonic() - start, alive, len(conns)))
    ok(rogue_ping(hq), "and HQ answers a device from another address")


def reset_connections(hq):
    """Found by fuzzing: a connection reset before HQ accepted it reached
    libsoup with no address (a libsoup critical)."""
    import socket
    start = os.path.getsize(hq.stderr)
    made = 0
    for _ in range(400):
        try:
            s = socket.create_connection(("127.0.0.1", hq.port), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            made += 1
        except OSError:
            pass
    time.sleep(1)
    with open(hq.stderr) as f:
        f.seek(start)
        said = f.read()
    ok(made > 0 and "CRITICAL" not in said,
       "%d connections reset at once leave no critical in HQ's log (%s)" % (made, said.strip()[:160]))
    ok(rogue_ping(hq), "and HQ answers a device")


def rogue_ping(hq):
    dev = Device()
    request(hq.port, "POST", "/v1/enroll", dev.enroll_body(hq.token("Goma")))
    return dev.call(hq, "GET", "/v1/ping")[0] == 200


def revoked_device_stays_out(hq):
    """Failure 1: a revoked device came back with a fresh token, in
    another office, with the same keys."""
    dev = Device()
    status, _ = request(hq.port, "POST", "/v1/enroll", dev.enroll_body(hq.token("Kinshasa")))
    ok(status == 200, "a new device enrolls in Kinshasa (%d)" % status)
    ok(dev.call(hq, "GET", "/v1/ping")[0] == 200, "its signed ping is answered")

    hq.stop()
    hq.run("revoke", dev.id)
    hq.start()
    status, _ = dev.call(hq, "GET", "/v1/ping")
    ok(status == 403, "revoked, its ping gets 403 (%d)" % status)

    hq.restart()
    goma = hq.token("Goma")
    status, body = request(hq.port, "POST", "/v1/enroll", dev.enroll_body(goma))
    ok(status == 403, "the revoked keys with a fresh Goma token are refused (%d %s)" % (status, body[:120]))
    d = hq.devices().get(dev.id, {})
    ok(d.get("status") == "revoked" and d.get("office") == "Kinshasa",
       "devices still shows it revoked, in Kinshasa (%s, %s)" % (d.get("status"), d.get("office")))
    ok(dev.call(hq, "GET", "/v1/ping")[0] == 403, "and its ping still gets 403")
    status, _ = request(hq.port, "POST", "/v1/enroll", Device().enroll_body(goma))
    ok(status == 403, "the token it spent cannot enroll anyone else (%d)" % status)

    # The revoked encryption key under a new signing key.
    status, _ = request(hq.port, "POST", "/v1/enroll", Device(box=dev.box).enroll_body(hq.token("Goma")))
    ok(status == 403, "a new signing key with the revoked encryption key is refused (%d)" % status)

    # An enrolled device does not move by enrolling again.
    other = Device()
    request(hq.port, "POST", "/v1/enroll", other.enroll_body(hq.token("Kinshasa")))
    status, _ = request(hq.port, "POST", "/v1/enroll", other.enroll_body(hq.token("Goma")))
    ok(status == 403 and hq.devices()[other.id]["office"] == "Kinshasa",
       "an enrolled device enrolling again stays in its office (%d)" % status)

    entries = hq.audit()
    enrolls = [e for e in entries if e.get("action") == "enroll"]
    refused = [e for e in entries if e.get("action") == "enroll-refused"]
    ok(all("token " in (e.get("detail") or "") for e in enrolls + refused) and len(refused) == 3,
       "every enrollment, and every refusal (%d), is audited with its token" % len(refused))

    hq.stop()
    r = hq.run("move", "--office", "Goma", other.id, check=False)
    hq.start()
    ok(r.returncode == 0 and hq.devices()[other.id]["office"] == "Goma",
       "the operator moves it with 'move' (%s)" % r.stderr.strip())
    ok(any(e.get("action") == "move" for e in hq.audit()), "and the move is audited")
    r = hq.run("move", "--office", "Goma", dev.id, check=False)
    ok(r.returncode != 0 and "revoked" in r.stderr, "a revoked device cannot be moved (%s)" % r.stderr.strip())


def replays_after_restart(hq):
    """Failure 2: requests captured within the 300 s window succeeded again
    after HQ restarted."""
    dev = Device()
    request(hq.port, "POST", "/v1/enroll", dev.enroll_body(hq.token("Goma")))
    captured = []
    for path in ("/v1/roster", "/v1/state", "/v1/ping", "/v1/pull?have=0"):
        h = dev.headers("GET", path)
        status, _ = request(hq.port, "GET", path, headers=h)
        captured.append((path, h, status))
    ok(all(s in (200, 204) for _, _, s in captured), "a device's roster, state, ping and pull are answered")
    ok(all(request(hq.port, "GET", p, headers=h)[0] == 409 for p, h, _ in captured),
       "replayed at once, each is refused (409)")
    for how, sig in (("stopped", signal.SIGTERM), ("killed -9", signal.SIGKILL)):
        hq.restart(sig)
        answers = [request(hq.port, "GET", p, headers=h)[0] for p, h, _ in captured]
        ok(all(a == 409 for a in answers), "HQ %s and restarted, every replay is refused (%s)" % (how, answers))
    ok(dev.call(hq, "GET", "/v1/ping")[0] == 200, "a new request from the device is answered")


def rate_limit_not_spoofable(hq):
    """Failure 3: flooding /v1/ping with a victim's Reunite-Device made the
    victim's sync fail with 429."""
    victim = Device()
    request(hq.port, "POST", "/v1/enroll", victim.enroll_body(hq.token("Goma")))
    forged = {"Reunite-Device": victim.id, "Reunite-Time": str(int(time.time())),
              "Reunite-Nonce": "00" * 16, "Reunite-Signature": "00" * 64}
    statuses = {}
    end = time.monotonic() + 10
    n = 0
    while n < 600 and time.monotonic() < end:
        forged["Reunite-Nonce"] = secrets.token_hex(16)
        s, _ = request(hq.port, "GET", "/v1/ping", headers=forged, source="127.0.0.2")
        statuses[s] = statuses.get(s, 0) + 1
        n += 1
    ok(statuses.get(429, 0) > 0 and 200 not in statuses,
       "%d forged pings from 127.0.0.2 are refused, then rate-limited (%s)" % (n, statuses))
    answers = [victim.call(hq, "GET", p)[0] for p in ("/v1/roster", "/v1/ping", "/v1/state", "/v1/pull?have=0")]
    ok(all(a in (200, 204) for a in answers), "the victim, from its own address, still syncs (%s)" % answers)


def main():
    top = tempfile.mkdtemp(prefix="reunite-attack-")
    hq = None
    try:
        hq = Hq(top).start()
        for attack in (revoked_device_stays_out, replays_after_restart, rate_limit_not_spoofable,
                       rogue_records_refused, spec_bytes, pre_auth_memory, malformed_lengths, slow_headers,
                       reset_connections):
            print("# %s" % attack.__doc__.splitlines()[0], flush=True)
            try:
                attack(hq)
            except Exception as e:  # noqa: BLE001
                ok(False, "%s: unexpected error: %r" % (attack.__name__, e))
                if hq.proc is None or hq.proc.poll() is not None:
                    hq.proc = None
                    hq.start()
            hq.restart()
    finally:
        if hq is not None:
            try:
                hq.stop(signal.SIGKILL)
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(top, ignore_errors=True)
    print("1..%d" % steps)
    sys.exit(1 if failed else 0)


signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
main()
