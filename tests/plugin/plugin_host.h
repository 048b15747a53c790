/* A small lilv host for the generator plugin's tests, with the features a DAW gives: URID
 * map/unmap, a worker (a real thread, or synchronous as Ardour does while exporting), state
 * makePath / mapPath / freePath, options (sample rate, block lengths) and log. It loads the
 * bundle built in $DGXM_BUILD_DIR/plugins, queues events for the next block, runs blocks and
 * records what the plugin says on its notify port.
 *
 * The worker's schedule and response paths are lock-free (an SPSC ring per direction and a
 * semaphore post), so a run() wrapped in the real-time guard only sees what the plugin does.
 * Single test thread; the worker thread is internal. Every _new has a _free. */
#ifndef DGXM_TEST_PLUGIN_HOST_H
#define DGXM_TEST_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ph_host ph_host;

typedef struct ph_options {
    double rate;      /* 48000 when 0 */
    uint32_t block;   /* frames per run(), 256 when 0 */
    bool sync_worker; /* run work() inside schedule_work, responses after run() */
    bool no_worker;   /* leave work:schedule out (instantiate must fail) */
} ph_options;

/* What the notify port said so far (reset with ph_clear_notes). */
typedef struct ph_notes {
    int progress;      /* PROGRESS messages */
    char state[32];    /* last STATE, the URI's fragment ("Ready", ...) */
    bool saw_state[8]; /* indexed by ph_state_index */
    float fraction;
    int64_t progress_seed;
    int takes_count, takes_current; /* last TAKES; -2 before any */
    int take_seen;                  /* TAKE messages */
    int64_t take_seed[16];
    float take_seconds[16], take_bpm[16];
    int take_bars[16];
    char take_file[16][4096];
    char take_prompt[16][256];
    int errors, notices;
    char error[2048], notice[2048]; /* every ERROR / NOTICE text, ' | ' between */
    char prompt[8192], prompt_file[4096], model[4096]; /* last patch:Set values */
    int state_changed;
} ph_notes;

/* "Idle" 0, "Loading" 1, "Queued" 2, "Generating" 3, "Ready" 4, "Failed" 5, "Cancelled" 6 */
int ph_state_index(const char *fragment);

/* NULL when the plugin is not found or does not instantiate (the log says why: ph_log). */
ph_host *ph_new(const ph_options *o);
void ph_free(ph_host *h);

/* The log lines the plugin wrote (all of them, concatenated). */
const char *ph_log(void);
/* The instance's scratch folder (makePath). */
const char *ph_scratch(ph_host *h);

void ph_set_port(ph_host *h, uint32_t index, float value);
/* The value the host holds for control port `index` (what a restored state set). */
float ph_get_port(const ph_host *h, uint32_t index);

/* Events for the next ph_run, at frame `at` (0 unless said). */
void ph_patch_set(ph_host *h, const char *property_uri, bool path, const char *value);
void ph_patch_set_bytes(ph_host *h, const char *property_uri, const char *value, uint32_t len);
void ph_command(ph_host *h, const char *type_uri); /* Generate, Cancel, patch:Get */
void ph_take_command(ph_host *h, const char *type_uri, int take);
void ph_note_on(ph_host *h, uint32_t at, uint8_t note);
void ph_position(ph_host *h, double bpm, double beats_per_bar, int64_t bar, double bar_beat,
                 double speed);
/* The same with time:frame (the transport frame), as Ardour sends it. */
void ph_position_frame(ph_host *h, double bpm, double beats_per_bar, int64_t bar, double bar_beat,
                       double speed, int64_t frame);

/* One block: run(), then the worker's responses, then the notify port is read into the notes.
 * out_l / out_r (may be NULL) receive the block's audio. */
void ph_run(ph_host *h, float *out_l, float *out_r);
uint32_t ph_block(const ph_host *h);

/* Hooks around the audio thread's calls (run and work_response), e.g. a real-time checker. */
void ph_set_audio_hooks(ph_host *h, void (*enter)(void), void (*leave)(void));

const ph_notes *ph_notes_get(const ph_host *h);
void ph_clear_notes(ph_host *h);

/* Runs blocks (sleeping 1 ms between them) until the notes show `state` or an ERROR, at most
 * `seconds`; true when `state` was seen. */
bool ph_run_until_state(ph_host *h, const char *state, double seconds);

/* Saves the instance's state into dir/state.ttl (take files copied into dir); true on success. */
bool ph_save(ph_host *h, const char *dir);
/* Restores dir/state.ttl into the instance; true on success. */
bool ph_restore(ph_host *h, const char *dir);
/* Loads the preset `uri` (found through LV2_PATH) into the instance as a host does: its state
 * through lilv's state API, its port values into the host's control ports; true on success. */
bool ph_load_preset(ph_host *h, const char *uri);

#endif
