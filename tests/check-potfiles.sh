#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Every file with a translatable string must be in po/POTFILES.in, every file
# listed there must exist, and the schema's labels (po/schema-labels.c) must
# match data/schema/records.json. TAP output.

set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"

listed="$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)"
found="$( { grep -l -E '\b(N?_|C_|NC_|g_dngettext|ngettext)\s*\(' app/*.c data/*.c sync/*.c tools/*.c 2>/dev/null || true
            grep -rl 'translatable="yes"' app --include='*.ui' 2>/dev/null || true
            ls app/*.desktop.in app/*.metainfo.xml.in app/*.gschema.xml po/schema-labels.c 2>/dev/null || true
          } | sort -u)"

echo "1..3"
missing="$(comm -13 <(echo "$listed") <(echo "$found"))"
if [ -z "$missing" ]; then
  echo "ok 1 every file with translatable strings is in POTFILES.in"
else
  echo "not ok 1 missing from po/POTFILES.in: $(echo $missing)"
fi
gone=""
for f in $listed; do [ -e "$f" ] || gone="$gone $f"; done
if [ -z "$gone" ]; then
  echo "ok 2 every file in POTFILES.in exists"
else
  echo "not ok 2 listed in po/POTFILES.in but missing:$gone"
fi
if python3 tools/schema-labels.py data/schema/records.json | cmp -s - po/schema-labels.c; then
  echo "ok 3 po/schema-labels.c matches the record schema"
else
  echo "not ok 3 po/schema-labels.c is stale: run tools/schema-labels.py data/schema/records.json > po/schema-labels.c"
fi
