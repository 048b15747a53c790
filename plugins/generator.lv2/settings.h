/* What a take is made from, and the checks on it. Plain data and pure functions: any thread
 * (the audio thread calls them on its own copies; nothing here allocates or does I/O). */
#ifndef DGXM_GEN_SETTINGS_H
#define DGXM_GEN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_PROMPT_MAX 8192 /* bytes of prompt, NUL included (T5 reads at most 512 tokens) */
#define GEN_PATH_MAX   4096

/* Control-port ranges (generator.ttl says the same; a host may still send anything). */
#define GEN_SECONDS_MIN 1.0
#define GEN_SECONDS_MAX 300.0 /* DGXM_JOB_MAX_SECONDS */
#define GEN_BARS_MIN    1
#define GEN_BARS_MAX    64
#define GEN_SEED_MAX    16777215 /* 2^24 - 1: every seed a float control port holds exactly */

typedef struct gen_settings {
    char prompt[GEN_PROMPT_MAX];
    char model[GEN_PATH_MAX]; /* as set by the user; "" = the default (config.c) */
    bool sync;
    double seconds;       /* free mode length */
    int bars;             /* synced: loop length in bars */
    double bpm;           /* synced: host tempo the take was made at; 0 when free */
    double beats_per_bar; /* synced */
    float guidance, temperature;
    int top_k;
    int64_t seed; /* -1 = random (current settings); the seed used (takes) */
} gen_settings;

/* The defaults: empty prompt, default model, free, 8 s, guidance 3, temperature 1, top_k 250,
 * random seed. */
void gen_settings_defaults(gen_settings *s);

/* Whether take settings `take` answer the request `want` (same prompt, model, sampling, length;
 * a wanted seed of -1 accepts any seed). */
bool gen_settings_match(const gen_settings *take, const gen_settings *want);

/* Checks the prompt and numbers; on a bad one writes a message naming it and its value into
 * msg and returns false. No stdio: the audio thread calls it. */
bool gen_settings_check(const gen_settings *s, char *msg, size_t msg_size);

/* True when the len bytes at s are well-formed UTF-8 without NUL bytes. Bounded by len. */
bool gen_utf8_valid(const char *s, size_t len);

#endif
