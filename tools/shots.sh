#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# ./dev shots: PNG screenshots of the main views in each language given
# (default: en), rendered from the real window on a virtual display into
# docs/screenshots/. The demo database holds synthetic people only, and is
# enrolled with a real reunite-hq on loopback, so that the sync page shows
# a sync that happened. GLib and GTK translate (and GTK lays out right to
# left) only for a language Reunite itself has a catalog for.

set -euo pipefail

build="$1"
out="$2"
shift 2
langs=("${@:-en}")
work="$(mktemp -d)"
hq_pid=
cleanup () {
  [ -z "$hq_pid" ] || kill "$hq_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$out" "$work/home"
head -c 18 /dev/urandom | base64 > "$work/passphrase"
head -c 18 /dev/urandom | base64 > "$work/hq-passphrase"
export REUNITE_PASSPHRASE_FILE="$work/passphrase"
cli="$build/app/reunite-cli"
hq="$build/sync/hq/reunite-hq"

"$cli" --db "$work/cases.db" init >/dev/null
# Planted pairs, so that the Matches page has people to propose.
"$build/bench/rfl-gen" --pairs "$work/truth.jsonl" 40 3000 2026 > "$work/cases.jsonl"
"$cli" --db "$work/cases.db" import "$work/cases.jsonl" >/dev/null

# HQ on a port the kernel picks; its first line says which.
"$hq" --dir "$work/hq" --passphrase-file "$work/hq-passphrase" --kdf interactive init >/dev/null
mkfifo "$work/hq-out"
"$hq" --dir "$work/hq" --passphrase-file "$work/hq-passphrase" serve --listen 127.0.0.1:0 \
  >"$work/hq-out" 2>"$work/hq-log" &
hq_pid=$!
exec 3<"$work/hq-out"
read -r -t 20 listening <&3
url="http://$(printf '%s' "$listening" | sed -n 's/.*"listening":"\([^"]*\)".*/\1/p')"
"$hq" --dir "$work/hq" --passphrase-file "$work/hq-passphrase" enroll --office Goma --url "$url" \
  --out "$work/goma.token" >/dev/null
"$cli" --db "$work/cases.db" enroll "$work/goma.token" >/dev/null

for lang in "${langs[@]}"; do
  # The language's own locale, so that dates and numbers are written its way.
  case "$lang" in
    en) locale=en_US.UTF-8 ;; fr) locale=fr_FR.UTF-8 ;; es) locale=es_ES.UTF-8 ;;
    ar) locale=ar_EG.UTF-8 ;; ru) locale=ru_RU.UTF-8 ;; *) locale=C.UTF-8 ;;
  esac
  HOME="$work/home" XDG_CACHE_HOME="$work/home/cache" XDG_CONFIG_HOME="$work/home/config" \
  XDG_DATA_HOME="$work/home/data" GSETTINGS_SCHEMA_DIR="$build/app" GSETTINGS_BACKEND=memory \
  GTK_A11Y=none LANG="$locale" LANGUAGE="$lang" REUNITE_LOCALEDIR="$build/po" \
    dbus-run-session -- xvfb-run -a -s "-screen 0 1366x768x24" \
      "$build/tools/rfl-shots" "$out" "$lang" "$work/cases.db" "$work/passphrase" 2>"$work/log" ||
    { cat "$work/log" >&2; exit 1; }
done

# The volunteer's day, typed with real keys (tests/e2e-input.py), pictured
# at its main steps: the list after saving, a form's errors at their fields,
# a status change that asks for its reason, the history with who and when.
for lang in "${langs[@]}"; do
  GSETTINGS_SCHEMA_DIR="$build/app" GSETTINGS_BACKEND=memory REUNITE_LOCALEDIR="$build/po" \
    /usr/bin/python3 "$(dirname "$0")/../tests/e2e-input.py" "$build/app/reunite" "$build/app/reunite-cli" \
      --lang "$lang" --shots "$out" >"$work/day-$lang.log" 2>&1 ||
    { cat "$work/day-$lang.log" >&2; exit 1; }
done
