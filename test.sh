#!/usr/bin/env bash
# The test command: formatting, lint, the benchmark scripts' own tests (summary, timeline), the
# suite in the optimised and the sanitizer builds, the threaded runtime's tests under
# ThreadSanitizer, and a short run of every fuzz target. Prints "N passed, N failed" for the
# whole.
set -uo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/waf ] || ./setup.sh --deps
waf=.venv/bin/waf
# cuobjdump from requirements-build.txt, for the fat-binary test
for d in .venv/lib/python3*/site-packages/nvidia/cu13/bin; do [ -d "$d" ] && PATH="$PATH:$PWD/$d"; done
export PATH
[ -f build/c4che/_cache.py ] || $waf configure ${DGXM_CONFIGURE:-} || exit 1

passed=0; failed=0
tally() { # name, status
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "check $1: ok";
  else failed=$((failed + 1)); echo "check $1: FAILED"; fi
}
suite() { # waf command
  local log; log=$(mktemp)
  $waf "$1" 2>&1 | tee "$log"
  local line; line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -1)
  rm -f "$log"
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "check $1: no result"; return; fi
  local p f; p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
}

tests/lint.sh; tally lint $?
python3 tests/bench/test_summarize.py; tally bench-summary $?
python3 tests/bench/test_timeline.py; tally bench-timeline $?
suite test
suite test_asan
suite test_tsan
tests/fuzz/run-short.sh; tally fuzz $?

echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
