/* The message contract between the generator plugin (generator.c), its UI (generator_ui.c),
 * presets and test hosts: every URI that crosses the control and notify ports. Port indices
 * and symbols are in generator.ttl; this header is the single place the URIs are spelled.
 *
 * Control port (host/UI -> plugin), atom objects:
 *   patch:Set  { patch:property P, patch:value V }  P in {PROMPT, PROMPT_FILE, MODEL}
 *   patch:Get  {}                                    plugin answers with the full picture:
 *                                                   a patch:Set per parameter, a Takes list
 *                                                   and a Progress
 *   GENERATE   {}                                    new take with the current settings
 *   CANCEL     {}                                    stop the job in flight
 *   SELECT_TAKE { TAKE: Int }                        make that take current
 *   DELETE_TAKE { TAKE: Int }                        drop that take (and its file)
 *   plus MIDI events and time:Position objects.
 *
 * Notify port (plugin -> host/UI), atom objects:
 *   patch:Set  { patch:property P, patch:value V }  on change, restore and patch:Get
 *   PROGRESS   { STATE: URID (STATE_*), FRACTION: Float 0..1, FRAMES: Long (frames done at the
 *                host rate), ETA: Float seconds, SEED: Long (seed in use) }
 *   TAKES      { COUNT: Int, CURRENT: Int (-1: none) }  the take list starts over; followed by
 *                one TAKE object per take, in index order
 *   TAKE       { TAKE: Int, PROMPT: String, SEED: Long, SECONDS: Float, BPM: Float (0: free),
 *                BARS: Int (0: free), FILE: Path (empty until written) }
 *   ERROR      { MESSAGE: String }                   something failed; the plugin stays usable
 *   NOTICE     { MESSAGE: String }                   information (e.g. no tempo: free mode)
 *
 * Ownership: plain constants. Any thread. */
#ifndef DGXM_GENERATOR_PROTOCOL_H
#define DGXM_GENERATOR_PROTOCOL_H

#define DGXM_GEN_URI    "urn:dgx-music:generator"
#define DGXM_GEN_UI_URI "urn:dgx-music:generator#ui"
#define DGXM_GEN__      DGXM_GEN_URI "#"

/* Port indices, in generator.ttl's order (the symbols are the contract with hosts). */
typedef enum dgxm_gen_port {
    DGXM_GEN_PORT_CONTROL = 0,  /* atom:Sequence in, lv2:control */
    DGXM_GEN_PORT_NOTIFY = 1,   /* atom:Sequence out */
    DGXM_GEN_PORT_OUT_L = 2,    /* audio out */
    DGXM_GEN_PORT_OUT_R = 3,    /* audio out */
    DGXM_GEN_PORT_DURATION = 4, /* seconds (free) or bars (synced) */
    DGXM_GEN_PORT_GUIDANCE = 5, /* classifier-free guidance scale */
    DGXM_GEN_PORT_TEMPERATURE = 6,
    DGXM_GEN_PORT_TOP_K = 7,
    DGXM_GEN_PORT_SEED = 8,       /* -1: a fresh random seed per take */
    DGXM_GEN_PORT_GAIN = 9,       /* dB */
    DGXM_GEN_PORT_SYNC = 10,      /* 0 free, 1 tempo-synced loop */
    DGXM_GEN_PORT_FREEWHEEL = 11, /* lv2:freeWheeling */
    DGXM_GEN_N_PORTS
} dgxm_gen_port;

/* Parameters (patch:writable) */
#define DGXM_GEN__prompt      DGXM_GEN__ "prompt"      /* atom:String */
#define DGXM_GEN__prompt_file DGXM_GEN__ "prompt_file" /* atom:Path */
#define DGXM_GEN__model       DGXM_GEN__ "model"       /* atom:Path */

/* Message types */
#define DGXM_GEN__Generate   DGXM_GEN__ "Generate"
#define DGXM_GEN__Cancel     DGXM_GEN__ "Cancel"
#define DGXM_GEN__SelectTake DGXM_GEN__ "SelectTake"
#define DGXM_GEN__DeleteTake DGXM_GEN__ "DeleteTake"
#define DGXM_GEN__Progress   DGXM_GEN__ "Progress"
#define DGXM_GEN__Takes      DGXM_GEN__ "Takes"
#define DGXM_GEN__Take       DGXM_GEN__ "Take"
#define DGXM_GEN__Error      DGXM_GEN__ "Error"
#define DGXM_GEN__Notice     DGXM_GEN__ "Notice"

/* Message properties */
#define DGXM_GEN__state    DGXM_GEN__ "state"
#define DGXM_GEN__fraction DGXM_GEN__ "fraction"
#define DGXM_GEN__frames   DGXM_GEN__ "frames"
#define DGXM_GEN__eta      DGXM_GEN__ "eta"
#define DGXM_GEN__seed     DGXM_GEN__ "seed"
#define DGXM_GEN__count    DGXM_GEN__ "count"
#define DGXM_GEN__current  DGXM_GEN__ "current"
#define DGXM_GEN__take     DGXM_GEN__ "take"
#define DGXM_GEN__seconds  DGXM_GEN__ "seconds"
#define DGXM_GEN__bpm      DGXM_GEN__ "bpm"
#define DGXM_GEN__bars     DGXM_GEN__ "bars"
#define DGXM_GEN__file     DGXM_GEN__ "file"
#define DGXM_GEN__message  DGXM_GEN__ "message"

/* State keys (LV2 state, besides the three parameters above). Take i (0 .. 15) is stored under
 * two keys: TAKE_FILE_PREFIX "i" (atom:Path, the take's FLAC file, absent when the take has no
 * audio) and TAKE_INFO_PREFIX "i" (atom:String, "key=value" lines, the prompt last:
 * seed, seconds, bpm, bars, beats_per_bar, guidance, temperature, top_k, model, prompt). */
#define DGXM_GEN__take_count   DGXM_GEN__ "take_count"   /* atom:Int */
#define DGXM_GEN__current_take DGXM_GEN__ "current_take" /* atom:Int, -1: none */
#define DGXM_GEN__last_seed    DGXM_GEN__ "last_seed"    /* atom:Long, the seed last used */
#define DGXM_GEN__take_file_   DGXM_GEN__ "take_file_"
#define DGXM_GEN__take_info_   DGXM_GEN__ "take_info_"

/* Values of STATE */
#define DGXM_GEN__Idle       DGXM_GEN__ "Idle"       /* nothing queued or running */
#define DGXM_GEN__Loading    DGXM_GEN__ "Loading"    /* model loading */
#define DGXM_GEN__Queued     DGXM_GEN__ "Queued"     /* behind another instance's job */
#define DGXM_GEN__Generating DGXM_GEN__ "Generating" /* frames streaming in */
#define DGXM_GEN__Ready      DGXM_GEN__ "Ready"      /* current take complete */
#define DGXM_GEN__Failed     DGXM_GEN__ "Failed"     /* see the ERROR message */
#define DGXM_GEN__Cancelled  DGXM_GEN__ "Cancelled"

#endif
