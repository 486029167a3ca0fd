#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The Flatpak manifest, checked offline (the runtime cannot be downloaded
# here): flatpak-builder reads it without a warning, the sandbox asks for
# nothing beyond network, display and GPU, and every downloaded source is
# pinned by checksum. TAP output.

import json
import os
import subprocess
import sys

manifest = sys.argv[1]
checks = []


def check(ok, what):
    checks.append((bool(ok), what))


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
check(list(modules)[-1] == "reunite" and "-Dtests=false" in modules["reunite"].get("config-opts", []),
      "Reunite is built last, without its tests")

print("1..%d" % len(checks))
for i, (ok, what) in enumerate(checks, 1):
    print("%s %d %s" % ("ok" if ok else "not ok", i, what))
