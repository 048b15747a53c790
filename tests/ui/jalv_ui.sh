#!/usr/bin/env bash
# The generator's UI in jalv.gtk3 under Xvfb (a JACK dummy server for audio). Called by
# test_ui_jalv with one mode:
#   type OUT_DIR              click into the prompt, type a prompt, press Enter: the plugin must
#                             receive the patch:Set and the Generate and report Generating/Ready
#   check                     only whether the tools are here (exit 0 or 77)
#   restore OUT_DIR STATE_DIR load a saved session: the plugin must send the UI the restored
#                             prompt and take list
# Checks read jalv -d's dump of the plugin <=> UI messages. A screenshot goes to OUT_DIR.
# Exit 0 pass, 1 fail (the reason on stderr), 77 skip (the reason on stdout as "skipping: ...").
# Every external process runs under timeout and is killed by its PID on exit.
set -uo pipefail
mode=$1 out=$2 state=${3:-}
. "$(dirname "$0")/preflight.sh"
ui_preflight jalv Xvfb jalv.gtk3 xdotool jackd jack_wait import stdbuf

[ "$mode" = check ] && exit 0 # the tools are here

work=$(mktemp -d)
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done # jalv first
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "jalv_ui: $*" >&2; echo "--- jalv output (end) ---" >&2; grep -v '^warning' "$work/jalv.out" 2>/dev/null | tail -40 >&2; exit 1; }

# A free display number from Xvfb itself.
exec 3>"$work/display"
timeout 50 Xvfb -displayfd 3 -screen 0 1600x1280x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
export DISPLAY=":$(head -1 "$work/display")"

export JACK_NO_AUDIO_RESERVATION=1 JACK_DEFAULT_SERVER="dgxm-ui-$$"
timeout -k 10 50 tests/support/jackd_dummy.sh "$JACK_DEFAULT_SERVER" 48000 >"$work/jack.log" 2>&1 &
pids+=($!)
timeout 10 jack_wait -w -t 8 >/dev/null 2>&1 || fail "jackd did not start: $(cat "$work/jack.log")"

export LV2_PATH="$build/plugins"
export DGXM_MODEL="$PWD/tests/fixtures/models/mono" DGXM_DEVICE=cpu
load=()
[ -n "$state" ] && load=(-l "$state")
timeout 45 stdbuf -oL jalv.gtk3 -d "${load[@]}" urn:dgx-music:generator >"$work/jalv.out" 2>&1 &
pids+=($!)

# The UI's own X window (named by XStoreName in x11.c).
win=
for _ in $(seq 100); do
  win=$(xdotool search --name '^dgx-music generator$' 2>/dev/null | head -1)
  [ -n "$win" ] && break
  sleep 0.1
done
[ -n "$win" ] || fail "the UI window did not appear"
# Messages arrive in order: wait for the plugin's answer to the UI's patch:Get.
wait_for() { # pattern seconds
  for _ in $(seq $(($2 * 10))); do grep -q "$1" "$work/jalv.out" && return 0; sleep 0.1; done
  return 1
}
wait_for 'Progress' 10 || fail "no Progress from the plugin after the UI's patch:Get"

# The dump as one record per message: "## dir ##" headers then the Turtle body.
records() { awk '/^## /{ if (r) print r; r = $0; next } { r = r " " $0 } END { print r }' "$work/jalv.out"; }

case "$mode" in
type)
  prompt="mellow jazz trio, brushed drums"
  sleep 0.5
  xdotool mousemove --window "$win" 120 90 click 1 || fail "xdotool could not click"
  sleep 0.3
  xdotool type --delay 15 "$prompt" || fail "xdotool could not type"
  xdotool key Return
  wait_for "patch:value \"$prompt\"" 10 || fail "the plugin never got patch:Set with the typed prompt"
  records | grep '^## UI => Plugin' | contains 'generator#Generate' || fail "no Generate sent"
  wait_for 'generator#Generating>\|generator#Ready>' 30 || fail "the plugin did not start generating"
  wait_for 'generator#Ready>' 30 || fail "the take did not finish"
  records | grep '^## Plugin => UI' | grep 'generator#Take>' | contains "$prompt" ||
    fail "no TAKE with the prompt was sent to the UI"
  sleep 0.5 # let the UI draw the take
  ;;
restore)
  wait_for 'generator#Take>' 10 || fail "no TAKE sent to the UI after the restore"
  records | grep '^## Plugin => UI' | grep 'patch#Set\|patch:Set' | contains 'restored session prompt' ||
    fail "the restored prompt was not sent to the UI"
  records | grep '^## Plugin => UI' | grep 'generator#Take>' | contains 'restored session prompt' ||
    fail "the restored take was not sent to the UI"
  sleep 0.5
  ;;
*) fail "unknown mode $mode" ;;
esac
mkdir -p "$out"
timeout 10 import -window "$win" "$out/ui-jalv-$mode.png" || fail "no screenshot"
echo "jalv_ui: $mode passed; screenshot $out/ui-jalv-$mode.png"
