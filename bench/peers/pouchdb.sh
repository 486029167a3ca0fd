#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/peers/pouchdb.sh WORKDIR CASES.jsonl: PouchDB 9 on LevelDB, A to a
# server to B over HTTP on loopback, with the records Reunite's sync
# benchmark uses (pouchdb-bench.js). The packages come from npm into
# WORKDIR/node_modules the first time this runs; ./dev test never runs it.

set -euo pipefail

work="$1"
cases="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "pouchdb.sh: Node.js and npm are needed for the PouchDB comparison" >&2
  exit 1
fi
mkdir -p "$work"
if [ ! -d "$work/node_modules/pouchdb-node" ]; then
  echo "bench: installing PouchDB from npm into $work" >&2
  npm install --prefix "$work" --no-audit --no-fund --loglevel=error \
    pouchdb-node@9.0.0 express-pouchdb@4.2.0 express@4.21.2 >/dev/null
fi
NODE_PATH="$work/node_modules" node "$here/pouchdb-bench.js" "$work/run" "$cases"
