/* Writing generated audio to disk through libsndfile, resampled with libsoxr when asked, to a
 * temporary name in the target's folder that is renamed into place only when complete, so a
 * failed or cancelled write never leaves a partial file.
 *
 * Plain functions; control threads only (they do file I/O). The caller owns every buffer.
 */
#ifndef DGXM_AUDIO_FILE_H
#define DGXM_AUDIO_FILE_H

#include "dgxm/status.h"

#include <stddef.h>

typedef enum dgxm_sample_format {
    DGXM_SAMPLE_DEFAULT, /* float for .wav, 24-bit for .flac, Vorbis for .ogg */
    DGXM_SAMPLE_FLOAT,
    DGXM_SAMPLE_PCM16,
    DGXM_SAMPLE_PCM24
} dgxm_sample_format;

/* A writer checked and opened up front (extension known, folder writable), so generation is not
 * wasted on an output that cannot be written. */
typedef struct dgxm_audio_writer dgxm_audio_writer;

/* path's extension picks the container: .wav, .flac or .ogg (case-insensitive). format
 * "float", "pcm16" or "pcm24" by dgxm_sample_format_parse. */
dgxm_audio_writer *dgxm_audio_writer_open(const char *path, int channels, int rate,
                                          dgxm_sample_format format, dgxm_error *err);

/* Writes planar audio[channels][frames] at in_rate, resampled to the writer's rate when they
 * differ, then renames the file into place. The writer is freed either way. */
dgxm_status dgxm_audio_writer_finish(dgxm_audio_writer *w, const float *audio, size_t frames,
                                     int in_rate, dgxm_error *err);

/* Removes the temporary file and frees the writer (cancel or failure before finish). */
void dgxm_audio_writer_abort(dgxm_audio_writer *w);

/* Parses "float", "pcm16", "pcm24"; -1 when unknown. */
int dgxm_sample_format_parse(const char *name);

/* Resamples planar audio[channels][frames] from in_rate to out_rate with libsoxr (very high
 * quality); *out is malloc'ed [channels][*out_frames]. */
dgxm_status dgxm_resample(const float *audio, int channels, size_t frames, int in_rate,
                          int out_rate, float **out, size_t *out_frames, dgxm_error *err);

#endif
