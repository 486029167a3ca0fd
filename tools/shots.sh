#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# ./dev shots: PNG screenshots of the main views in each language given
# (default: en), rendered from the real window on a virtual display into
# docs/screenshots/. The demo database holds synthetic people only. GLib
# and GTK translate (and GTK lays out right to left) only for a language
# Reunite itself has a catalog for.

set -euo pipefail

build="$1"
out="$2"
shift 2
langs=("${@:-en}")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$out" "$work/home"
head -c 18 /dev/urandom | base64 > "$work/passphrase"
export REUNITE_PASSPHRASE_FILE="$work/passphrase"
"$build/app/reunite-cli" --db "$work/cases.db" init >/dev/null
"$build/bench/rfl-gen" 3000 2026 > "$work/cases.jsonl"
"$build/app/reunite-cli" --db "$work/cases.db" import "$work/cases.jsonl" >/dev/null

for lang in "${langs[@]}"; do
  HOME="$work/home" XDG_CACHE_HOME="$work/home/cache" XDG_CONFIG_HOME="$work/home/config" \
  XDG_DATA_HOME="$work/home/data" GSETTINGS_SCHEMA_DIR="$build/app" GSETTINGS_BACKEND=memory \
  GTK_A11Y=none LANG=C.UTF-8 LANGUAGE="$lang" \
    dbus-run-session -- xvfb-run -a -s "-screen 0 1366x768x24" \
      "$build/tools/rfl-shots" "$out" "$lang" "$work/cases.db" "$work/passphrase" 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
done
