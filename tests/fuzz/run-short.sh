#!/usr/bin/env bash
# A short run of every libFuzzer target over its committed seed corpus (CI). Set
# DGXM_FUZZ_SECONDS for a longer run.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${DGXM_FUZZ_SECONDS:-20}
waf=.venv/bin/waf
$waf build_fuzz >/dev/null || { echo "fuzz: build failed"; exit 1; }
shopt -s nullglob
targets=()
for t in build/fuzz/tests/fuzz/fuzz_*; do
  [[ -x "$t" && "$t" != *.* ]] && targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets built"; exit 1; }
rc=0
for t in "${targets[@]}"; do
  name=$(basename "$t"); seeds=tests/fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  if "$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$work" "$seeds" >"$work.log" 2>&1; then
    echo "fuzz $name: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work.log" | grep -Eo '[0-9]+$') runs in ${secs}s)"
  else
    echo "fuzz $name: FAILED"; tail -40 "$work.log"; rc=1
  fi
  rm -rf "$work" "$work.log"
done
exit $rc
