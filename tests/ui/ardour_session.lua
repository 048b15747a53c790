-- An Ardour 7 session with the generator on a MIDI track, for opening its UI (tests/ui/ardour_ui.sh
-- runs it; see tests/ui/ardour_ui.md):
--   DGXM_ARDOUR_SESSION=/tmp/dgxm-ardour LV2_PATH=$PWD/build/plugins ardour7-lua tests/ui/ardour_session.lua
-- $DGXM_ARDOUR_PRESET, when set, names a preset URI to load (its prompt is then what the UI shows);
-- $DGXM_ARDOUR_DURATION, when set, is the duration in seconds (the plugin's first control input).
-- Prints "session: PATH" and "window: NAME", NAME being the plugin window's name in Ardour's
-- window state ("P-<route id>-<processor id>").
local dir = os.getenv("DGXM_ARDOUR_SESSION") or "/tmp/dgxm-ardour"
local s = create_session(dir, "dgxm", 48000)
assert(s, "could not create the session in " .. dir)
local pi = ARDOUR.LuaAPI.new_plugin_info("urn:dgx-music:generator", ARDOUR.PluginType.LV2)
assert(not pi:isnil(), "urn:dgx-music:generator not found: set LV2_PATH to build/plugins")
local tl = s:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1),
	ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2), false, pi, nil, nil, 1, "generator",
	ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false)
assert(tl:size() == 1, "the track was not made")
local track = tl:front()
local proc = track:nth_plugin(0)
assert(not proc:isnil(), "the track has no plugin")
local uri = os.getenv("DGXM_ARDOUR_PRESET")
if uri and uri ~= "" then
	local plugin = proc:to_insert():plugin(0)
	local preset = plugin:preset_by_uri(uri)
	assert(preset, "preset " .. uri .. " not listed")
	assert(plugin:load_preset(preset), "preset " .. preset.label .. " did not load")
	print("preset: " .. preset.label)
end
local duration = tonumber(os.getenv("DGXM_ARDOUR_DURATION") or "")
if duration then
	assert(ARDOUR.LuaAPI.set_processor_param(proc, 0, duration), "could not set the duration")
	print("duration: " .. duration .. " s")
end
s:save_state("", false, false, false, false, false)
print("window: P-" .. track:to_stateful():id():to_s() .. "-" .. proc:to_stateful():id():to_s())
close_session()
print("session: " .. dir .. "/dgxm.ardour")
