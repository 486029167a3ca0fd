#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# ./dev bench [N] [RUNS]: the store's benchmarks at N records (default
# 515,000, the size of the data set stolen in 2022). Each workload runs on an
# encrypted store and, in the same run, on an unencrypted baseline; figures
# are medians over RUNS runs (default 1), with the keyed/unkeyed ratio.

set -euo pipefail

build="$1"
n="${2:-515000}"
runs="${3:-1}"
bench="$build/bench/rfl-bench"
gen="$build/bench/rfl-gen"
work="$build/bench-data"

mkdir -p "$work"
cases="$work/cases-$n.jsonl"
queries="$work/queries-1000.txt"
[ -s "$cases" ] || "$gen" "$n" 515000 > "$cases"
[ -s "$queries" ] || "$gen" --queries 1000 4242 > "$queries"

results="$work/results.jsonl"
: > "$results"
for run in $(seq 1 "$runs"); do
  for store in unkeyed keyed; do
    db="$work/bench-$store.db"
    rm -f "$db" "$db-wal" "$db-shm" "$db.key"
    echo "bench: run $run/$runs: import $n records, $store" >&2
    "$bench" import "$store" "$db" "$cases" >> "$results"
    echo "bench: run $run/$runs: 1000 searches, $store" >&2
    "$bench" search "$store" "$db" "$queries" >> "$results"
  done
done
rm -f "$work"/bench-*.db*

python3 - "$results" "$n" "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n, runs = int(sys.argv[2]), int(sys.argv[3])

def med(workload, store, key):
    return statistics.median(r[key] for r in rows if r["workload"] == workload and r["store"] == store)

def line(label, workload, key, unit, scale=1.0, fmt="{:.2f}", target=None, higher_better=False):
    k, u = med(workload, "keyed", key) * scale, med(workload, "unkeyed", key) * scale
    ratio = (u / k) if higher_better else (k / u)
    t = "" if target is None else f"   target {target}"
    print(f"{label:<28} {fmt.format(k):>10} {unit:<6} {fmt.format(u):>10} {unit:<6} {ratio:>6.2f}{t}")

print(f"\nReunite store benchmark: {n:,} records, median of {runs} run(s)")
print(f"{'':<28} {'keyed':>17} {'unkeyed':>17} {'ratio':>6}")
line("import time", "import", "import_s", "s", target="<= 30 s, ratio <= 1.3")
line("import rate", "import", "records_per_s", "rec/s", fmt="{:,.0f}", higher_better=True)
line("search p50 (1,000 queries)", "search", "p50_ms", "ms")
line("search p95", "search", "p95_ms", "ms", target="<= 20 ms, ratio <= 1.3")
line("search max", "search", "max_ms", "ms")
line("database size", "import", "db_bytes", "MB", scale=1/1e6, fmt="{:,.0f}")
line("peak RSS, import", "import", "peak_rss_kib", "MB", scale=1/1024, fmt="{:,.0f}", target="<= 250 MB")
line("peak RSS, search", "search", "peak_rss_kib", "MB", scale=1/1024, fmt="{:,.0f}")
print(f"{'unlock (Argon2id MODERATE)':<28} {med('search', 'keyed', 'unlock_s'):>10.2f} s      "
      f"peak {med('import', 'keyed', 'unlock_peak_rss_kib')/1024:,.0f} MB, freed before the work starts")
print(f"{'mean hits per query':<28} {med('search', 'keyed', 'mean_hits'):>10.1f}")
PY
