#!/usr/bin/env bash
# The generator's UI in the full Ardour 7 GUI under Xvfb, on Ardour's Dummy backend. Called by
# test_ui_ardour with one mode:
#   check            only whether the tools are here (exit 0 or 77)
#   open OUT_DIR     the plugin window opens with the session and our UI shows the preset's
#                    prompt, the state Idle and no takes, as the plugin reported them
#   generate OUT_DIR as open, then a click into the prompt and Enter: the UI must see the job
#                    start, end Ready and a take arrive
#   reopen OUT_DIR   as generate with a 240 s take, but while it generates the plugin window is
#                    closed and opened again from the mixer strip (double-clicks on the plugin's
#                    entry, found on screen by its colour in Ardour 7.3's default theme; skips
#                    when it is not found): Ardour destroys our UI instance and makes a new one,
#                    which must show the job still generating, then Ready and the take
# No clicks in Ardour's own widgets and no dialogs:
#  * a temporary HOME / XDG_CONFIG_HOME whose ardour7/ folder holds the "been here before"
#    marker (.a7, so no welcome wizard), instant.xml with <no-memory-warning/> (no locked-memory
#    dialog), and config with the Dummy backend as the saved Audio/MIDI setup, the Dummy backend
#    not hidden and try-autostart-engine on (so the engine starts without the setup dialog);
#  * the session is made headlessly by ardour_session.lua (ardour7-lua), and its <Extra><UI>
#    window state marks the generator's plugin window visible, so Ardour opens it on load.
# Our UI's trace ($DGXM_UI_TRACE, on stderr) says what it received from the plugin; the checks
# read it from Ardour's output. Screenshots of the whole screen go to OUT_DIR.
# Exit 0 pass, 1 fail (the reason on stderr), 77 skip (the reason on stdout as "skipping: ...").
# Every process runs under timeout in its own process group, killed as a group on exit.
set -uo pipefail
mode=$1 out=${2:-}
. "$(dirname "$0")/preflight.sh"
PRESET_URI=urn:dgx-music:preset:jazz-trio
PRESET_PROMPT="jazz piano trio, walking upright bass, brushed drums, swing, smoky club"

ardour=$(command -v ardour7 || command -v ardour) ||
  { echo "skipping: Ardour not installed (Debian package ardour; ./setup.sh --deps installs it)"; exit 77; }
ui_preflight Ardour Xvfb ardour7-lua xdotool import convert setsid

[ "$mode" = check ] && exit 0 # the tools are here

work=$(mktemp -d)
groups=()
cleanup() {
  for ((i = ${#groups[@]} - 1; i >= 0; i--)); do kill -TERM -- "-${groups[i]}" 2>/dev/null; done # Ardour first
  sleep 1
  for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "ardour_ui: $*" >&2
  echo "--- Ardour output (end) ---" >&2
  grep -v 'INFO\]' "$work/ardour.log" 2>/dev/null | tail -40 >&2
  exit 1
}
# start NAME SECONDS CMD...: CMD in its own process group (setsid), output to $work/NAME.log
start() {
  local name=$1 secs=$2
  shift 2
  setsid timeout -k 3 "$secs" "$@" >"$work/$name.log" 2>&1 </dev/null &
  groups+=($!)
}

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
export LV2_PATH="$build/plugins" ARDOUR_FPU_FLAGS=15 # SSE paths: see the audio ecosystem notes
export DGXM_MODEL="$PWD/tests/fixtures/models/mono" DGXM_DEVICE=cpu DGXM_UI_TRACE=1

# The session, with the plugin window marked open.
duration=
[ "$mode" = reopen ] && duration=240 # about 15 s of work: time to close and reopen the window
DGXM_ARDOUR_SESSION="$work/sess" DGXM_ARDOUR_PRESET=$PRESET_URI DGXM_ARDOUR_DURATION=$duration \
  timeout -k 3 40 ardour7-lua tests/ui/ardour_session.lua >"$work/lua.log" 2>&1 </dev/null ||
  { cat "$work/lua.log" >&2; fail "ardour7-lua could not make the session"; }
window=$(sed -n 's/^window: //p' "$work/lua.log")
session="$work/sess/dgxm.ardour"
if [ -z "$window" ] || [ ! -f "$session" ]; then cat "$work/lua.log" >&2; fail "no session or window name"; fi
grep -q '<Extra' "$session" && fail "the session already has an <Extra> node"
sed -i "s|</Session>|  <Extra><UI><Window name=\"$window\" visible=\"1\" x-off=\"500\" y-off=\"96\" x-size=\"820\" y-size=\"640\"/></UI></Extra>\n</Session>|" "$session"

cfg="$XDG_CONFIG_HOME/ardour7"
mkdir -p "$cfg"
touch "$cfg/.a7"
echo '<instant><no-memory-warning/></instant>' >"$cfg/instant.xml"
cat >"$cfg/config" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Ardour>
  <Config>
    <Option name="try-autostart-engine" value="1"/>
    <Option name="hide-dummy-backend" value="0"/>
  </Config>
  <Extra>
    <AudioMIDISetup>
      <EngineStates>
        <State backend="None (Dummy)" driver="Normal Speed" device="Silence" input-device="Silence"
               output-device="Silence" sample-rate="48000" buffer-size="1024" n-periods="0"
               input-latency="0" output-latency="0" active="1" use-buffered-io="0"
               midi-option="No MIDI I/O"/>
      </EngineStates>
    </AudioMIDISetup>
  </Extra>
</Ardour>
EOF

# A free display number from Xvfb itself.
exec 3>"$work/display"
start xvfb 55 Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
DISPLAY=":$(head -1 "$work/display")"
export DISPLAY

t0=$SECONDS
start ardour 50 "$ardour" --no-announcements --no-splash "$session"

wait_for() { # pattern seconds
  for _ in $(seq $(($2 * 10))); do grep -q -- "$1" "$work/ardour.log" && return 0; sleep 0.1; done
  return 1
}
# Our UI's own X window (named by XStoreName in x11.c), inside Ardour's plugin window.
win=
for _ in $(seq 300); do
  win=$(xdotool search --name '^dgx-music generator$' 2>/dev/null | head -1)
  [ -n "$win" ] && break
  sleep 0.1
done
[ -n "$win" ] || fail "the UI window did not appear in 30 s"
echo "ardour_ui: the UI window appeared $((SECONDS - t0)) s after Ardour started"
# Ardour's window around it, titled "TRACK: PLUGIN (by AUTHOR) [LV2]" (titled a moment later)
top=
for _ in $(seq 100); do
  top=$(xdotool search --name '^generator: dgx-music generator' 2>/dev/null | head -1)
  [ -n "$top" ] && break
  sleep 0.1
done
[ -n "$top" ] || fail "no Ardour plugin window named after the track and the plugin"

wait_for "dgx-music UI: prompt \"$PRESET_PROMPT\"" 10 || fail "the UI never showed the preset's prompt"
wait_for 'dgx-music UI: state Idle' 10 || fail "the UI never heard the plugin's state"
wait_for 'dgx-music UI: takes 0' 10 || fail "the UI never heard the take list"

shot() { sleep 0.5; timeout 10 import -window root "$out/$1" || fail "no screenshot"; echo "ardour_ui: screenshot $out/$1"; }
mkdir -p "$out"
generate() {
  # into the prompt box (the UI's layout: below the label, left), then Enter = Generate
  xdotool mousemove --window "$win" 120 60 click 1 || fail "xdotool could not click"
  sleep 0.3
  xdotool key Return || fail "xdotool could not press Enter"
  wait_for 'dgx-music UI: state \(Loading\|Queued\|Generating\)' 10 || fail "the UI never saw the job start"
}
# The trace since the UI instance was last opened.
since_open() { awk '/dgx-music UI: opened/ { t = "" } /dgx-music UI:/ { t = t $0 "\n" } END { printf "%s", t }' "$work/ardour.log"; }
count() { grep -c -- "$1" "$work/ardour.log"; }
# double_click_until PATTERN N: double-click the mixer entry until PATTERN occurs N times
# (Ardour raises a plugin window that is covered before it hides it); at most 3 double-clicks.
double_click_until() {
  for _ in 1 2 3; do
    xdotool mousemove "$ex" "$ey" click --repeat 2 --delay 80 1
    for _ in $(seq 20); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  done
  return 1
}
case "$mode" in
open) shot ui-ardour7-open.png ;;
generate)
  generate
  wait_for 'dgx-music UI: state Ready' 40 || fail "the UI never saw the take finish"
  wait_for 'dgx-music UI: takes 1' 5 || fail "the UI never got the new take"
  shot ui-ardour7-generate.png
  ;;
reopen)
  generate
  wait_for 'dgx-music UI: state Generating' 20 || fail "the job never reached Generating"
  # the mixer (Alt+M in the main window), then the plugin's entry in the track's strip
  main=$(xdotool search --name ' - Ardour$' 2>/dev/null | head -1)
  [ -n "$main" ] || fail "no Ardour main window"
  xdotool windowfocus "$main" || fail "xdotool could not focus Ardour's main window"
  sleep 0.2
  xdotool key alt+m || fail "xdotool could not press Alt+M"
  sleep 1.5
  timeout 10 import -window root "$work/mixer.png" || fail "no screenshot of the mixer"
  # the instrument entry's background colour in Ardour 7.3's dark theme; its bounding box
  box=$(convert "$work/mixer.png" -fill black +opaque '#663030' -format '%@' info: 2>/dev/null)
  if ! [[ $box =~ ^([0-9]+)x([0-9]+)\+([0-9]+)\+([0-9]+)$ ]] || [ "${BASH_REMATCH[1]}" -lt 40 ] ||
    [ "${BASH_REMATCH[1]}" -gt 200 ]; then
    echo "skipping: the plugin's entry in the mixer strip was not found by its colour (Ardour 7.3's default theme): got '$box'"
    exit 77
  fi
  ex=$((BASH_REMATCH[3] + BASH_REMATCH[1] / 2)) ey=$((BASH_REMATCH[4] + BASH_REMATCH[2] / 2))
  echo "ardour_ui: the plugin's entry in the mixer is at $ex,$ey"
  double_click_until 'dgx-music UI: closed' 1 || fail "the plugin window did not close"
  since_open | contains 'state Ready' && fail "the job ended before the window was closed"
  sleep 1
  double_click_until 'dgx-music UI: opened' 2 || fail "the plugin window did not open again"
  for _ in $(seq 100); do since_open | contains 'state Generating' && break; sleep 0.1; done
  since_open | contains 'state Generating' || fail "the reopened UI did not show the job generating"
  since_open | contains "prompt \"$PRESET_PROMPT\"" || fail "the reopened UI did not get the prompt"
  shot ui-ardour7-reopened.png
  for _ in $(seq 400); do since_open | contains 'state Ready' && break; sleep 0.1; done
  since_open | contains 'state Ready' || fail "the reopened UI never saw the take finish"
  for _ in $(seq 50); do since_open | contains 'takes 1' && break; sleep 0.1; done
  since_open | contains 'takes 1' || fail "the reopened UI never got the new take"
  shot ui-ardour7-reopened-ready.png
  ;;
*) fail "unknown mode $mode" ;;
esac
grep -q 'dgx-music UI: state Failed' "$work/ardour.log" && fail "the plugin reported a failure"
echo "ardour_ui: $mode passed in $((SECONDS - t0)) s"
