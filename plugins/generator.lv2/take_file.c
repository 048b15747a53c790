/* Take audio files through libsndfile (FLAC, 24-bit). Worker and state threads. */
#include "takes.h"

#include "audio_file.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gen_take_write_flac(const gen_take *t, const char *path, char *msg, size_t msg_size)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    float *planar = malloc((size_t)t->frames * 2 * sizeof *planar);
    if (!planar) {
        snprintf(msg, msg_size, "%s: out of memory for %llu frames", path,
                 (unsigned long long)t->frames);
        return false;
    }
    for (uint64_t i = 0; i < t->frames; i++) {
        planar[i] = t->audio[i * 2];
        planar[t->frames + i] = t->audio[i * 2 + 1];
    }
    /* the writer works on a temporary name and renames it into place once complete */
    dgxm_audio_writer *w = dgxm_audio_writer_open(path, 2, t->rate, DGXM_SAMPLE_PCM24, &err);
    if (w)
        dgxm_audio_writer_finish(w, planar, (size_t)t->frames, t->rate, &err);
    free(planar);
    if (err.status != DGXM_OK) {
        snprintf(msg, msg_size, "cannot write take file %s: %s", path, err.message);
        return false;
    }
    return true;
}

/* Interleaved stereo of an interleaved file with `channels` channels, in place into out. */
static void to_stereo(const float *in, int channels, sf_count_t frames, float *out)
{
    for (sf_count_t i = 0; i < frames; i++) {
        out[i * 2] = in[i * channels];
        out[i * 2 + 1] = in[i * channels + (channels > 1 ? 1 : 0)];
    }
}

static bool resample_stereo(gen_take *t, double rate, char *msg, size_t msg_size, const char *path)
{
    float *planar = malloc((size_t)t->frames * 2 * sizeof *planar);
    if (!planar) {
        snprintf(msg, msg_size, "%s: out of memory", path);
        return false;
    }
    for (uint64_t i = 0; i < t->frames; i++) {
        planar[i] = t->audio[i * 2];
        planar[t->frames + i] = t->audio[i * 2 + 1];
    }
    float *out = NULL;
    size_t out_frames = 0;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_status st =
        dgxm_resample(planar, 2, (size_t)t->frames, t->rate, (int)rate, &out, &out_frames, &err);
    free(planar);
    float *inter = st == DGXM_OK ? malloc(out_frames * 2 * sizeof *inter) : NULL;
    if (!inter) {
        free(out);
        snprintf(msg, msg_size, "%s: cannot resample from %d Hz to %g Hz: %s", path, t->rate, rate,
                 st == DGXM_OK ? "out of memory" : err.message);
        return false;
    }
    for (size_t i = 0; i < out_frames; i++) {
        inter[i * 2] = out[i];
        inter[i * 2 + 1] = out[out_frames + i];
    }
    free(out);
    free(t->audio);
    t->audio = inter;
    /* a loop keeps its exact length in bars at the new rate */
    if (t->loop_frames)
        t->loop_frames = (uint64_t)((double)t->loop_frames * rate / t->rate + 0.5);
    t->frames = t->loop_frames && t->loop_frames < out_frames ? t->loop_frames : out_frames;
    t->rate = (int)rate;
    return true;
}

bool gen_take_read_audio(gen_take *t, const char *path, double rate, char *msg, size_t msg_size)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        snprintf(msg, msg_size, "take file %s cannot be read: %s", path, sf_strerror(NULL));
        return false;
    }
    bool ok = false;
    float *in = NULL, *audio = NULL;
    if (info.frames <= 0 || info.channels <= 0 || info.channels > 8) {
        snprintf(msg, msg_size, "take file %s holds no usable audio (%lld frames, %d channels)",
                 path, (long long)info.frames, info.channels);
        goto done;
    }
    in = malloc((size_t)info.frames * info.channels * sizeof *in);
    audio = malloc((size_t)info.frames * 2 * sizeof *audio);
    if (!in || !audio) {
        snprintf(msg, msg_size, "take file %s: out of memory", path);
        goto done;
    }
    sf_count_t got = sf_readf_float(f, in, info.frames);
    if (got != info.frames) {
        snprintf(msg, msg_size, "take file %s is truncated: %lld of %lld frames", path,
                 (long long)got, (long long)info.frames);
        goto done;
    }
    to_stereo(in, info.channels, got, audio);
    free(t->audio);
    t->audio = audio;
    audio = NULL;
    t->frames = (uint64_t)got;
    t->rate = info.samplerate;
    t->loop_frames = t->settings.sync ? t->frames : 0;
    ok = t->rate == (int)rate || resample_stereo(t, rate, msg, msg_size, path);
done:
    free(in);
    free(audio);
    sf_close(f);
    return ok;
}
