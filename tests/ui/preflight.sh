# shellcheck shell=bash
# Sourced by the UI host scripts (ardour_ui.sh, jalv_ui.sh): $build as an absolute path,
# contains PATTERN (a pipefail-safe grep -q), and ui_preflight HOST TOOL... which exits 77 with
# "skipping: ..." on stdout when a tool or the UI is missing, or when the bundle is the
# sanitizer build's (it cannot load into HOST).
build=${DGXM_BUILD_DIR:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac

# contains PATTERN: whether standard input matches. Unlike `| grep -q` it reads all of its input:
# grep -q exits at the first match, and a producer still writing then dies of SIGPIPE, which
# pipefail reports as the pipeline failing (a sanitizer bundle taken for a plain one, a message
# the plugin did send taken as missing).
contains() {
  local text
  text=$(cat)
  grep -q -- "$1" <<<"$text"
}

ui_preflight() {
  local host=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "skipping: $tool not installed (./setup.sh --deps installs it)"; exit 77; }
  done
  [ -f "$build/plugins/generator.lv2/generator_ui.so" ] || { echo "skipping: no $build/plugins/generator.lv2/generator_ui.so"; exit 77; }
  if ldd "$build/plugins/generator.lv2/generator.so" | contains 'libasan\|libtsan'; then
    echo "skipping: the sanitizer build's bundle cannot load into an uninstrumented $host"
    exit 77
  fi
}
