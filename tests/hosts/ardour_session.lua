-- The Ardour half of tests/hosts/test_host_ardour.c, run by ardour7-lua (Ardour's headless Lua
-- session tool, Dummy backend) twice:
--   T_PHASE=create: a 48 kHz session in $T_DIR/sess with the generator on a MIDI track, the
--     preset $T_PRESET loaded, one note (C4, beat 1 = frame 24000 at the default 120 bpm) in a
--     MIDI region; exports $T_DIR/first.wav (frames 0 - 240000, 32-bit float) and saves.
--   T_PHASE=reopen: loads that session and exports the same range to $T_DIR/reopened.wav.
-- Errors raise, so ardour7-lua exits non-zero; each step prints what it did.

local dir = assert(os.getenv("T_DIR"), "T_DIR not set")
local phase = assert(os.getenv("T_PHASE"), "T_PHASE not set")
local rate = 48000
local export_end = 5 * rate

-- The float WAV export preset the test puts in $XDG_CONFIG_HOME/ardour7/export.
local WAV_FLOAT = "3c8e1f7a-52b4-4d0e-9a61-7b2d5c9e0f34"

local function export(name)
	-- a session exported at once after creation may start a few hundred frames late
	ARDOUR.LuaAPI.usleep(1000000)
	local e = Session:simple_export()
	e:set_folder(dir)
	e:set_name(name)
	e:set_range(0, export_end)
	assert(e:set_preset(WAV_FLOAT), "export preset " .. WAV_FLOAT .. " not found")
	assert(e:run_export(), "export " .. name .. " failed")
	print("exported " .. dir .. "/" .. name .. ".wav")
end

local function create()
	assert(create_session(dir .. "/sess", "sess", rate), "create_session failed")
	local info = ARDOUR.LuaAPI.new_plugin_info("urn:dgx-music:generator", ARDOUR.PluginType.LV2)
	assert(not info:isnil(), "urn:dgx-music:generator not found (LV2_PATH)")
	-- strict I/O off: with it, adding an instrument sometimes aborts ("Port already exists")
	local tracks = Session:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1),
		ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2), false, info, nil, nil, 1, "generator",
		ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
	local track = tracks:front()
	local proc = track:nth_plugin(0)
	local plugin = proc:to_insert():plugin(0)
	local preset = plugin:preset_by_uri(os.getenv("T_PRESET"))
	assert(preset, "preset " .. os.getenv("T_PRESET") .. " not listed")
	assert(plugin:load_preset(preset), "preset " .. preset.label .. " did not load")
	print("preset loaded: " .. preset.label)

	-- Ardour 7's Lua cannot make an empty MIDI region; bouncing the (empty) track's MIDI before
	-- the instrument gives one, which then gets the note through its model.
	local region = track:bounce_range(0, 4 * rate, ARDOUR.InterThreadInfo(), proc, false,
		"notes", false)
	assert(region and not region:isnil(), "bounce_range made no region")
	local midi = region:to_midiregion()
	assert(not midi:isnil(), "the bounced region is not MIDI")
	track:playlist():add_region(region, Temporal.timepos_t(0), 1, false)
	local model = midi:model()
	local cmd = model:new_note_diff_command("note")
	cmd:add(ARDOUR.LuaAPI.new_noteptr(1, Temporal.Beats(1, 0), Temporal.Beats(1, 0), 60, 100))
	model:apply_command(Session, cmd)
	print("notes in the region: " .. ARDOUR.LuaAPI.note_list(model):size())

	export("first")
	Session:save_state("", false, false, false, false, false)
	print("saved " .. Session:path())
end

local function reopen()
	assert(load_session(dir .. "/sess", "sess"), "load_session failed")
	print("reopened " .. Session:path())
	export("reopened")
end

if phase == "create" then
	create()
elseif phase == "reopen" then
	reopen()
else
	error("T_PHASE must be create or reopen, not " .. phase)
end
close_session()
