#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install every dependency, build, run the main job.
#   ./setup.sh            install + configure + build + main job
#   ./setup.sh --deps     install only (what CI needs before ./test.sh)
# Extra configure flags go in DGXM_CONFIGURE (for example DGXM_CONFIGURE=--no-cuda).
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  build-essential pkg-config python3 python3-venv clang libclang-rt-14-dev
  clang-format clang-tidy
  lv2-dev sordi liblilv-dev lilv-utils libjack-jackd2-dev libsndfile1-dev libsoxr-dev
  libjansson-dev libutf8proc-dev libcmocka-dev
  libx11-dev libcairo2-dev
  xvfb xauth xdotool x11-utils imagemagick jalv jackd2
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# RealtimeSanitizer for the audio-thread test (tests/rtsan/): clang-22 from bookworm-security,
# about 60 MB. Optional: without it configure skips that one test and says so.
RTSAN_PACKAGES=(clang-22 libclang-rt-22-dev)
if ! dpkg-query -W -f='${Status}' clang-22 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing ${RTSAN_PACKAGES[*]} (RealtimeSanitizer)"
  [ ${#missing[@]} -gt 0 ] || sudo_if_needed apt-get update -qq || true
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${RTSAN_PACKAGES[@]}" || echo "setup: clang-22 is not available here; the RTSan test is skipped"
fi

# The host tests (tests/hosts/): Ardour headless (ardour7-lua), jalv and jackd2 under the dummy
# driver. Without recommends: Ardour's recommends alone are about 100 MB of extras.
HOST_PACKAGES=(ardour jalv jackd2)
host_missing=()
for p in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || host_missing+=("$p")
done
if [ ${#host_missing[@]} -gt 0 ]; then
  echo "setup: installing ${host_missing[*]} (host tests)"
  [ ${#missing[@]} -gt 0 ] || sudo_if_needed apt-get update -qq || true
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${host_missing[@]}"
fi

[ -x .venv/bin/pip ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-build.txt

[ "${1:-}" = "--deps" ] && exit 0

.venv/bin/waf configure ${DGXM_CONFIGURE:-}
.venv/bin/waf build
exec ./tests/main-job.sh
