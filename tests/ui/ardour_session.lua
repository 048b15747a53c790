-- An Ardour 7 session with the generator on a MIDI track, for opening its UI by hand:
--   DGXM_ARDOUR_SESSION=/tmp/dgxm-ardour LV2_PATH=$PWD/build/plugins ardour7-lua tests/ui/ardour_session.lua
-- (see tests/ui/ardour_ui.md).
local dir = os.getenv("DGXM_ARDOUR_SESSION") or "/tmp/dgxm-ardour"
local s = create_session(dir, "dgxm", 48000)
assert(s, "could not create the session in " .. dir)
local pi = ARDOUR.LuaAPI.new_plugin_info("urn:dgx-music:generator", ARDOUR.PluginType.LV2)
assert(not pi:isnil(), "urn:dgx-music:generator not found: set LV2_PATH to build/plugins")
local tl = s:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1),
	ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2), false, pi, nil, nil, 1, "generator",
	ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false)
assert(tl:size() == 1, "the track was not made")
s:save_state("", false, false, false, false, false)
close_session()
print("session: " .. dir .. "/dgxm.ardour")
