/* Take records (plugin.h's gen_take): made from a finished job or read back from a file, saved
 * as a FLAC file plus an info text. Worker and state threads only (they allocate and do file
 * I/O); the audio thread only reads listed records. Every _new has a _free. */
#ifndef DGXM_GEN_TAKES_H
#define DGXM_GEN_TAKES_H

#include "plugin.h"

#include <stddef.h>

/* A take from job's finished whole clip (interleaved stereo at rate): copied, and cut into an
 * exact loop when loop_frames > 0. NULL with msg set when out of memory or the clip is gone. */
gen_take *gen_take_new_from_job(dgxm_job *job, const gen_settings *s, uint64_t loop_frames,
                                double rate, char *msg, size_t msg_size);

/* An empty take (no audio) carrying s: a slot whose file could not be read. */
gen_take *gen_take_new_empty(const gen_settings *s);

void gen_take_free(gen_take *t);

/* Writes t's audio to path as 24-bit FLAC (libsndfile; written beside and renamed into place).
 * Returns false with msg naming the file on failure. */
bool gen_take_write_flac(const gen_take *t, const char *path, char *msg, size_t msg_size);

/* Reads a take's audio from a FLAC (or any libsndfile) file into t, as stereo at rate
 * (resampled when the file's rate differs; a mono file fills both channels). Returns false
 * with msg naming the file when it is missing or unreadable. */
bool gen_take_read_audio(gen_take *t, const char *path, double rate, char *msg, size_t msg_size);

/* The info text of s (plugin state): "key=value" lines, the prompt last. Returns the length,
 * -1 when it does not fit. */
int gen_take_info_format(const gen_settings *s, char *out, size_t size);

/* Parses an info text into s (starting from the defaults). False when there is no prompt. */
bool gen_take_info_parse(const char *text, size_t len, gen_settings *s);

#endif
