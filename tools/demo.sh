#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# ./dev run: create a demo case store of synthetic records (first run only)
# and open it in the app; with no display, show what is in it through
# reunite-cli instead.

set -euo pipefail

build="$1"
cli="$build/app/reunite-cli"
gen="$build/bench/rfl-gen"
demo="$build/demo"
db="$demo/cases.db"

mkdir -p "$demo"
chmod 700 "$demo"
export REUNITE_PASSPHRASE_FILE="$demo/passphrase"

if [ ! -f "$db" ]; then
  # The demo holds synthetic people only; its passphrase sits beside it.
  umask 077
  head -c 18 /dev/urandom | base64 > "$REUNITE_PASSPHRASE_FILE"
  echo "Creating a demo case store in $db"
  "$cli" --db "$db" init
  "$gen" 5000 2026 > "$demo/cases.jsonl"
  "$cli" --db "$db" import "$demo/cases.jsonl"
  rm -f "$demo/cases.jsonl"
fi

section () { printf '\n\033[1m%s\033[0m\n' "$*"; }

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  printf 'Demo database %s\nIts passphrase (synthetic people only): %s\n' "$db" "$(cat "$REUNITE_PASSPHRASE_FILE")"
  export GSETTINGS_SCHEMA_DIR="$build/app" REUNITE_LOCALEDIR="$build/po"
  exec "$build/app/reunite" --database "$db"
fi
echo "No display: showing the demo database through reunite-cli instead of the app."

section "The five most recently changed records"
"$cli" --db "$db" list --limit 5

section "Open tracing requests (first 3)"
"$cli" --db "$db" list --type tracing_request --status open --limit 3

section "Searching 'Mohamed Yusuf' (finds Muhammad, Mohammed, محمد يوسف ...)"
"$cli" --db "$db" search Mohamed Yusuf --limit 5

section "Searching 'Коваленко' (Cyrillic; finds Kovalenko too)"
"$cli" --db "$db" search Коваленко --limit 3

id="$("$cli" --db "$db" list --type registration --limit 1 | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')"
section "One registration in full: $id"
"$cli" --db "$db" show "$id"

section "The audit log's hash chain"
"$cli" --db "$db" audit --verify

printf '\nThe database is %s; try: REUNITE_PASSPHRASE_FILE=%s %s --db %s --help\n' \
  "$db" "$REUNITE_PASSPHRASE_FILE" "$cli" "$db"
