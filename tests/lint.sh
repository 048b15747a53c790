#!/usr/bin/env bash
# Formatting and lint, as committed config: clang-format must leave every C file unchanged and
# clang-tidy must report nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h')
rc=0
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "lint: clang-format would change the files above (run: clang-format -i FILE)"; rc=1
fi
mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep -E '\.c$' | grep -v '^tests/fuzz/')
inc=(-Icore/include -Icore -Ikernels -Itests/support -Itests -Iplugins/generator.lv2 -Iplugins/generator_ui -Itests/plugin $(pkg-config --cflags jansson libutf8proc cmocka lv2 lilv-0 jack sndfile soxr x11 cairo))
# One run per folder: clang-tidy 14 applies the first file's .clang-tidy to a whole run, and
# tests/ has its own.
mapfile -t tests < <(printf '%s\n' "${sources[@]}" | grep '^tests/')
mapfile -t others < <(printf '%s\n' "${sources[@]}" | grep -v '^tests/')
for group in others tests; do
  declare -n files_in="$group"
  if ! clang-tidy --quiet "${files_in[@]}" -- -std=c11 -D_GNU_SOURCE -DDGXM_SOURCE_DIR='"."' "${inc[@]}" 2>/dev/null; then
    echo "lint: clang-tidy found problems in $group"; rc=1
  fi
done
exit $rc
