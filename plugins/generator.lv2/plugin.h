/* The generator plugin's instance and the pieces its files share (generator.c is the LV2 entry
 * point; see docs/architecture.md, "LV2 plugin", for the picture).
 *
 * Threads. Three contexts touch an instance:
 *   audio  - run() and work_response(): the host's audio thread. Owns the playback state, the
 *            current settings, the take list and the request slots. Never allocates, locks,
 *            blocks or does stdio.
 *   worker - work(): the host's worker (one call at a time; on Ardour during export it runs
 *            synchronously inside run()). Owns the engine reference, submits and releases
 *            jobs, builds take records, writes and deletes take files, reads prompt files.
 *   state  - save() and restore(): a host control thread. save() may run while run() runs, so
 *            it reads the audio thread's data through the seqlock'ed publication below;
 *            restore() runs with no concurrent run() (no state:threadSafeRestore is declared).
 * The worker and the state calls exclude each other with `nonrt_lock` (never taken by run()).
 *
 * Ownership: the instance owns everything it points to; take records are owned by the take
 * list while listed and by the worker once it is asked to free them. */
#ifndef DGXM_GEN_PLUGIN_H
#define DGXM_GEN_PLUGIN_H

#include "protocol.h"
#include "settings.h"
#include "uris.h"

#include "dgxm/engine.h"
#include "dgxm/job.h"

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/log/logger.h>
#include <lv2/state/state.h>
#include <lv2/worker/worker.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GEN_MAX_TAKES      16   /* takes kept per instance; a 17th is refused with an ERROR */
#define GEN_REQUESTS       4    /* generation request slots (one running + ones retiring) */
#define GEN_FREEWHEEL_WAIT 60.0 /* seconds run() may wait per block for audio while exporting */
#define GEN_PROGRESS_HZ    10   /* PROGRESS notifications per second of audio while generating */
#define GEN_MESSAGE_MAX    600  /* ERROR / NOTICE text */
#define GEN_NOTES_MAX      (GEN_MAX_TAKES + 2) /* messages restore() leaves for run() */

/* A finished take: immutable once listed (a change is a new record). Audio is interleaved
 * stereo at `rate`; frames == 0 marks an empty slot (its file was missing on restore) that keeps
 * the settings so nothing is forgotten. */
typedef struct gen_take {
    gen_settings settings; /* settings.seed is the seed used */
    float *audio;
    uint64_t frames;      /* frames of audio */
    uint64_t loop_frames; /* synced takes: the loop length (== frames); 0 for free takes */
    int rate;
    char file[GEN_PATH_MAX]; /* absolute path of its FLAC file; "" until written */
} gen_take;

/* One generation request: filled by run(), read by the worker, answered through a response. */
typedef enum gen_slot_phase {
    GEN_SLOT_FREE,
    GEN_SLOT_SUBMITTING, /* GENERATE scheduled, no job yet */
    GEN_SLOT_RUNNING,    /* the job is queued or running */
    GEN_SLOT_ENDING      /* the job ended; the worker is finalising or discarding it */
} gen_slot_phase;

typedef struct gen_request {
    gen_slot_phase phase;  /* audio thread only */
    bool cancel;           /* audio: cancel as soon as the job is known */
    bool retired;          /* audio: superseded; discard whatever comes out */
    atomic_bool started;   /* worker: set (release) once job and its lengths are written */
    gen_settings settings; /* audio writes while FREE; worker reads after GENERATE */
    /* Written by the worker before its response; read by the audio thread after it, or once
     * `started` is seen (a host that runs work() inside run() while exporting: the job plays
     * from the note's frame instead of the next block). */
    dgxm_job *job;
    uint64_t total_frames, loop_frames;
    bool free_fallback; /* synced was asked but no tempo was known */
    int64_t seed_used;
    char error[GEN_MESSAGE_MAX];
} gen_request;

/* Messages through the worker: small and fixed-size (jalv's rings hold 4 KiB). */
typedef enum gen_work_type {
    GEN_WORK_GENERATE,    /* slot: submit its job */
    GEN_WORK_JOB_ENDED,   /* slot: finalise (done) or collect the error, then release */
    GEN_WORK_DISCARD,     /* slot: release a retired job */
    GEN_WORK_RELEASE_JOB, /* job: its take is listed, nothing reads the job any more */
    GEN_WORK_FREE_TAKE,   /* take: unlisted; delete_file also removes its file */
    GEN_WORK_PROMPT_FILE, /* read the file named in prompt_file_req */
    GEN_WORK_LOAD_MODEL,  /* acquire the engine for model_req */
    GEN_WORK_LOG          /* text follows the message: log it (run() cannot) */
} gen_work_type;

typedef enum gen_response_type {
    GEN_RESP_JOB_STARTED, /* slot: job, total_frames, loop_frames set */
    GEN_RESP_FAILED,      /* slot: error set; slot is free again */
    GEN_RESP_TAKE_READY,  /* slot + take: list it, then release the job */
    GEN_RESP_DISCARDED,   /* slot: free again (cancelled or retired) */
    GEN_RESP_PROMPT_READ, /* prompt_file_text holds the prompt, or error */
    GEN_RESP_MODEL_READY, /* the engine for the model is loaded */
    GEN_RESP_MODEL_ERROR  /* model_error holds the message */
} gen_response_type;

typedef struct gen_message {
    int32_t type;
    int32_t slot;
    bool delete_file;
    void *ptr; /* a dgxm_job or gen_take */
} gen_message;

/* What save() may read while run() runs: a sequence count, odd while run() writes. */
typedef struct gen_published {
    atomic_uint seq;
    gen_settings settings;
    char prompt_file[GEN_PATH_MAX];
    _Atomic(gen_take *) takes[GEN_MAX_TAKES];
    int count, current;
    int64_t last_seed;
} gen_published;

typedef struct gen_plugin {
    /* Ports (audio thread). */
    const LV2_Atom_Sequence *control;
    LV2_Atom_Sequence *notify;
    float *out[2];
    const float *port[DGXM_GEN_N_PORTS]; /* control ports, by protocol index */

    /* Host features (set at instantiate). */
    LV2_URID_Map *map;
    LV2_URID_Unmap *unmap;
    LV2_Worker_Schedule *schedule;
    LV2_State_Make_Path *make_path;
    LV2_State_Free_Path *free_path;
    LV2_Log_Logger logger;
    gen_uris uris;
    LV2_Atom_Forge forge;
    LV2_Atom_Forge_Frame notify_frame; /* the notify sequence, open during run() */
    double rate;

    /* Audio thread: settings, takes, generation, playback. */
    gen_settings settings; /* the current settings (numbers refreshed from ports each block) */
    char prompt_file[GEN_PATH_MAX];
    gen_take *takes[GEN_MAX_TAKES];
    int take_count, current; /* current: index into takes, -1 none */
    int64_t last_seed;
    gen_request slots[GEN_REQUESTS];
    int active; /* the slot whose job plays and reports progress, -1 none */
    bool playing;
    uint64_t pos; /* free mode: next frame of the take; synced: unused */
    float gain, gain_target, last_gain_db;
    bool freewheel_wait_logged;
    /* host transport, from time:Position */
    bool have_tempo;
    bool have_frame; /* host_frame follows a time:frame the host sent */
    double bpm, beats_per_bar, bar_beat, speed;
    double host_frame; /* host transport frame at the next frame (from time:frame) */
    int64_t bar;
    /* notify bookkeeping */
    int announce_next;       /* next TAKE object of a pending take list, -1 when none pending */
    bool announce_all;       /* a patch:Get is pending (parameters first) */
    uint32_t last_state;     /* STATE once nothing is active: Ready/Failed/Cancelled, 0 auto */
    uint32_t reported_state; /* STATE last forged */
    uint64_t progress_clock; /* frames since the last PROGRESS */
    bool prompt_file_busy;   /* a prompt file read is in flight */
    bool play_job;           /* playing the active job's ring while it streams in */
    double beat_pos;         /* host musical position in beats at the next frame */
    float gain_coef;         /* one-pole smoothing per frame */
    gen_message deferred[16];
    char deferred_log[4][GEN_MESSAGE_MAX];
    int deferred_count, deferred_logs;
    bool model_busy;

    /* Shared with the worker through a single in-flight request each (flag above). */
    char prompt_file_req[GEN_PATH_MAX];
    char prompt_file_text[GEN_PROMPT_MAX];
    char prompt_file_error[GEN_MESSAGE_MAX];
    char model_req[GEN_PATH_MAX];
    char model_error[GEN_MESSAGE_MAX];

    /* ERROR / NOTICE texts waiting to be forged by run(): pushed by work_response() and by
     * restore() (which never runs beside run()), never by another thread. */
    char notes[GEN_NOTES_MAX][GEN_MESSAGE_MAX];
    bool note_is_error[GEN_NOTES_MAX];
    int note_count;
    unsigned announce_params; /* GEN_ANNOUNCE_* bits: patch:Set messages to forge */
    bool state_changed;       /* forge state:StateChanged (a take was added or removed) */

    /* Worker and state threads. */
    pthread_mutex_t nonrt_lock;
    dgxm_engine *engine;
    char engine_model[GEN_PATH_MAX]; /* resolved folder of `engine` */
    char engine_device[32];
    atomic_bool loading; /* the worker is loading a model (reported as Loading) */
    uint64_t random_state;
    gen_published pub;
} gen_plugin;

enum {
    GEN_ANNOUNCE_PROMPT = 1,
    GEN_ANNOUNCE_PROMPT_FILE = 2,
    GEN_ANNOUNCE_MODEL = 4,
    GEN_ANNOUNCE_ALL = 7
};

/* generator.c, audio thread (work_response included) */
void gen_publish(gen_plugin *self);                                 /* for save() */
void gen_push_note(gen_plugin *self, bool error, const char *text); /* forged next block */
void gen_announce_takes(gen_plugin *self);                          /* the take list changed */
void gen_cancel_active(gen_plugin *self);                           /* stop the job in flight */
/* Queues a worker message; run() hands queued messages to the host's schedule_work at the start
 * and end of each block (so a host that answers at once never re-enters a half-made change).
 * False (with an ERROR pushed) when the queue is full. */
bool gen_schedule(gen_plugin *self, const gen_message *m);
/* An ERROR found on the audio thread: forged next block and logged through the worker. */
void gen_error_rt(gen_plugin *self, const char *text);

/* messages.c, audio thread: one control-port event (patch, MIDI, time:Position) */
void gen_handle_event(gen_plugin *self, const LV2_Atom_Event *ev);
/* A note-on or Generate: play the take for the current settings, or make one (force: always
 * make a new one). */
void gen_trigger(gen_plugin *self, bool force);

/* worker.c */
LV2_Worker_Status gen_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                           LV2_Worker_Respond_Handle handle, uint32_t size, const void *data);
LV2_Worker_Status gen_work_response(LV2_Handle instance, uint32_t size, const void *data);
/* Releases the engine and every job still held (cleanup, no other thread left). */
void gen_worker_cleanup(gen_plugin *self);

/* state.c */
extern const LV2_State_Interface gen_state_interface;

#endif
