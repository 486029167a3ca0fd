#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Every language in po/LINGUAS is complete: its catalog has every message
# the sources mark for translation (extracted afresh, as meson's reunite-pot
# target does), none untranslated or fuzzy, and msgfmt --check passes
# (format directives and plural forms agree). TAP output.

set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

langs=($(grep -v '^#' po/LINGUAS))
echo "1..$(( ${#langs[@]} + 1 ))"

if grep -v '^#' po/POTFILES.in | sed '/^$/d' > "$work/files" &&
   xgettext --package-name=reunite --files-from="$work/files" --output="$work/reunite.pot" \
     --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
     --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
     --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
     --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format 2>"$work/xgettext.log"; then
  echo "ok 1 the messages extract: $(grep -c '^msgid ' "$work/reunite.pot") msgids"
else
  echo "not ok 1 xgettext failed: $(tr '\n' ' ' < "$work/xgettext.log")"
  exit 0
fi

n=1
for lang in "${langs[@]}"; do
  n=$((n + 1))
  msgmerge --quiet --no-fuzzy-matching --output-file="$work/$lang.po" "po/$lang.po" "$work/reunite.pot"
  if ! stats="$(msgfmt --check --statistics --output-file=/dev/null "$work/$lang.po" 2>&1 | tail -1)"; then
    echo "not ok $n $lang: msgfmt --check fails: $stats"
  elif [[ "$stats" =~ untranslated|fuzzy ]]; then
    echo "not ok $n $lang is incomplete: $stats"
  else
    echo "ok $n $lang: $stats"
  fi
done
