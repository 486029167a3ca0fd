#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs every libFuzzer target of BUILD (a -Dfuzz=true build) for SECONDS:
# first its committed regression inputs (each once), then fuzzing from the
# seed corpus in tests/fuzz/corpus plus what earlier runs found (kept in
# BUILD/fuzz-corpus). Prints executions and coverage per target; a crash
# is saved under BUILD/fuzz-crashes and fails the run.
#
#   tools/fuzz.sh BUILD SECONDS

set -uo pipefail

build="$(cd "$1" && pwd)"
seconds="$2"
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=(fuzz-envelope fuzz-merge fuzz-signed fuzz-schema fuzz-keyfile fuzz-request-auth fuzz-hq-http)
failed=0

mkdir -p "$build/fuzz-corpus" "$build/fuzz-crashes"
printf '%-18s %12s %8s %8s  %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  work="$build/fuzz-corpus/$t"
  scratch="$(mktemp -d)"
  log="$build/fuzz-crashes/$t.log"
  opts=(-rss_limit_mb=4096 -timeout=20 -artifact_prefix="$build/fuzz-crashes/$t-")
  env=(TMPDIR="$scratch" ASAN_OPTIONS="${ASAN_OPTIONS:-}:abort_on_error=0")
  # The HTTP target's server keeps state across inputs; what it holds is
  # not a leak of one input.
  [ "$t" = fuzz-hq-http ] && { opts+=(-detect_leaks=0); env=(TMPDIR="$scratch" ASAN_OPTIONS=detect_leaks=0); }
  mkdir -p "$work"
  result=ok
  regressions=("$top/tests/fuzz/regressions/$t"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! env "${env[@]}" "$bin" "${opts[@]}" "${regressions[@]}" >"$log" 2>&1; then
      result="a regression input fails again (see $log)"
    fi
  fi
  if [ "$result" = ok ]; then
    if ! env "${env[@]}" "$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        "$work" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1; then
      result="crashed: $(ls -t "$build/fuzz-crashes/$t"-* 2>/dev/null | grep -v '\.log$' | head -1) (see $log)"
    fi
  fi
  rm -rf "$scratch"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  printf '%-18s %12s %8s %8s  %s\n' "$t" "${runs:--}" "${speed:--}" "${cov:--}" "$result"
  [ "$result" = ok ] || failed=1
done
exit $failed
