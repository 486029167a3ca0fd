#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The Flatpak manifest: flatpak-builder reads it without a warning, the
# sandbox asks for nothing beyond network, display and GPU, and every
# downloaded source comes from its upstream, pinned by checksum. With a
# network, each source is downloaded from every address the manifest gives
# and its checksum compared; without one, those checks are reported as
# skipped. TAP output.

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

manifest = sys.argv[1]
checks = []
MAX_DOWNLOAD = 64 << 20


def check(ok, what, skip=None):
    checks.append((bool(ok), what, skip))


def download_sha256(url):
    """The sha256 of what url serves, or None when it cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            h, n = hashlib.sha256(), 0
            while chunk := r.read(1 << 16):
                n += len(chunk)
                if n > MAX_DOWNLOAD:
                    return "larger than %d MiB" % (MAX_DOWNLOAD >> 20)
                h.update(chunk)
            return h.hexdigest()
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


env = dict(os.environ, G_DEBUG="fatal-warnings")
shown = subprocess.run(["flatpak-builder", "--show-manifest", manifest], env=env, capture_output=True, text=True)
check(shown.returncode == 0 and not shown.stderr.strip(),
      "flatpak-builder --show-manifest reads it without a warning " + shown.stderr.strip().replace("\n", " "))
with open(manifest, encoding="utf-8") as f:
    m = json.load(f)

check(m.get("id") == "io.github.reunite.Reunite" and m.get("command") == "reunite", "application id and command")
check(m.get("runtime") == "org.gnome.Platform" and m.get("sdk") == "org.gnome.Sdk",
      "the GNOME runtime and SDK")
allowed = {"--share=network", "--share=ipc", "--socket=wayland", "--socket=fallback-x11", "--device=dri"}
args = set(m.get("finish-args", []))
check(args == allowed, "finish-args are exactly network, ipc, wayland, fallback-x11, dri: %s" % sorted(args ^ allowed))
check(not any(a.startswith(("--filesystem", "--talk-name", "--socket=session-bus", "--device=all"))
              for a in args), "no host filesystem, session bus or device access")

modules = {mod["name"]: mod for mod in m.get("modules", []) if isinstance(mod, dict)}
check("sqlcipher" in modules and any("4.6.1" in s.get("url", "") for s in modules["sqlcipher"]["sources"]),
      "SQLCipher 4.6.1 is built as a module")
check("libsodium" in modules, "libsodium is built as a module")
sources = [s for mod in modules.values() for s in mod.get("sources", [])]
remote = [s for s in sources if s.get("type") in ("archive", "file")]
check(remote and all(len(s.get("sha256", "")) == 64 for s in remote), "every downloaded source has a sha256")
upstream = {"download.libsodium.org", "github.com"}
addresses = [u for src in remote for u in [src.get("url", "")] + src.get("mirror-urls", [])]
check(all(urllib.parse.urlsplit(u).scheme == "https" and urllib.parse.urlsplit(u).hostname in upstream
          for u in addresses),
      "every source is fetched over https from its upstream, not a distribution's package pool: %s"
      % [u for u in addresses if urllib.parse.urlsplit(u).hostname not in upstream])
check(any("libsodium-1.0.21" in u for u in addresses), "libsodium is the current stable release, 1.0.21")
for src in remote:
    for url in [src.get("url", "")] + src.get("mirror-urls", []):
        got = download_sha256(url)
        name = url.rsplit("/", 1)[-1]
        if got is None:
            check(True, "%s matches its sha256" % url, skip="no network to %s" % urllib.parse.urlsplit(url).hostname)
        else:
            check(got == src.get("sha256"), "%s matches its sha256 (%s)" % (url, got))
# The tests here ran against Debian's SQLCipher; the Flatpak builds the same
# upstream source, byte for byte.
deb = "https://deb.debian.org/debian/pool/main/s/sqlcipher/sqlcipher_4.6.1.orig.tar.gz"
got = download_sha256(deb)
if got is None:
    check(True, "the SQLCipher the tests ran on is the source the Flatpak builds", skip="no network to deb.debian.org")
else:
    check(got == modules["sqlcipher"]["sources"][0].get("sha256"),
          "the SQLCipher the tests ran on (Debian's 4.6.1 source, %s) is the source the Flatpak builds" % got)
check(list(modules)[-1] == "reunite" and "-Dtests=false" in modules["reunite"].get("config-opts", []),
      "Reunite is built last, without its tests")

print("1..%d" % len(checks))
for i, (ok, what, skip) in enumerate(checks, 1):
    print("%s %d %s%s" % ("ok" if ok else "not ok", i, what, " # SKIP " + skip if skip else ""))
