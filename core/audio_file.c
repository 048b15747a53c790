/* Audio files: see audio_file.h. */
#include "audio_file.h"

#include <sndfile.h>
#include <soxr.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct dgxm_audio_writer {
    char *path;
    char *tmp_path;
    SNDFILE *file;
    int channels, rate;
};

int dgxm_sample_format_parse(const char *name)
{
    if (!strcmp(name, "float"))
        return DGXM_SAMPLE_FLOAT;
    if (!strcmp(name, "pcm16"))
        return DGXM_SAMPLE_PCM16;
    if (!strcmp(name, "pcm24"))
        return DGXM_SAMPLE_PCM24;
    return -1;
}

static int container_for(const char *path, dgxm_sample_format format, dgxm_error *err)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "%s: no file extension (use .wav, .flac or .ogg)",
                       path);
        return 0;
    }
    int sub_pcm = format == DGXM_SAMPLE_PCM16 ? SF_FORMAT_PCM_16 : SF_FORMAT_PCM_24;
    if (!strcasecmp(dot, ".wav"))
        return SF_FORMAT_WAV |
               (format == DGXM_SAMPLE_DEFAULT || format == DGXM_SAMPLE_FLOAT ? SF_FORMAT_FLOAT
                                                                             : sub_pcm);
    if (!strcasecmp(dot, ".flac")) {
        if (format == DGXM_SAMPLE_FLOAT) {
            dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "%s: FLAC holds no float samples", path);
            return 0;
        }
        return SF_FORMAT_FLAC | sub_pcm;
    }
    if (!strcasecmp(dot, ".ogg"))
        return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                   "%s: unknown extension '%s' (use .wav, .flac or .ogg)", path, dot);
    return 0;
}

dgxm_audio_writer *dgxm_audio_writer_open(const char *path, int channels, int rate,
                                          dgxm_sample_format format, dgxm_error *err)
{
    if (channels < 1 || channels > 8 || rate < 8000 || rate > 384000) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "%s: %d channels at %d Hz", path, channels, rate);
        return NULL;
    }
    int sf_format = container_for(path, format, err);
    if (!sf_format)
        return NULL;
    dgxm_audio_writer *w = calloc(1, sizeof *w);
    if (!w || asprintf(&w->tmp_path, "%s.partial-%ld", path, (long)getpid()) < 0 ||
        !(w->path = strdup(path))) {
        if (w)
            free(w->tmp_path);
        free(w);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    SF_INFO info = { .samplerate = rate, .channels = channels, .format = sf_format };
    w->file = sf_open(w->tmp_path, SFM_WRITE, &info);
    if (!w->file) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot write: %s", path, sf_strerror(NULL));
        free(w->tmp_path);
        free(w->path);
        free(w);
        return NULL;
    }
    w->channels = channels;
    w->rate = rate;
    return w;
}

void dgxm_audio_writer_abort(dgxm_audio_writer *w)
{
    if (!w)
        return;
    if (w->file)
        sf_close(w->file);
    unlink(w->tmp_path);
    free(w->tmp_path);
    free(w->path);
    free(w);
}

dgxm_status dgxm_resample(const float *audio, int channels, size_t frames, int in_rate,
                          int out_rate, float **out, size_t *out_frames, dgxm_error *err)
{
    size_t capacity = (size_t)((double)frames * out_rate / in_rate) + 16;
    float *in_il = malloc(frames * channels * sizeof *in_il);
    float *out_il = malloc(capacity * channels * sizeof *out_il);
    *out = malloc(capacity * channels * sizeof **out);
    if (!in_il || !out_il || !*out) {
        free(in_il), free(out_il), free(*out);
        *out = NULL;
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "resample: %zu frames", frames);
    }
    for (size_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            in_il[i * channels + c] = audio[(size_t)c * frames + i];
    soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, 0);
    size_t done = 0;
    soxr_error_t e = soxr_oneshot(in_rate, out_rate, (unsigned)channels, in_il, frames, NULL,
                                  out_il, capacity, &done, NULL, &quality, NULL);
    free(in_il);
    if (e) {
        free(out_il), free(*out);
        *out = NULL;
        return dgxm_error_set(err, DGXM_ERR_BACKEND, "resample %d -> %d Hz: %s", in_rate, out_rate,
                              e);
    }
    /* Exactly frames * out / in samples, however the resampler's tail rounded. */
    size_t want = (size_t)((double)frames * out_rate / in_rate + 0.5);
    for (size_t i = 0; i < want; i++)
        for (int c = 0; c < channels; c++)
            (*out)[(size_t)c * want + i] = i < done ? out_il[i * channels + c] : 0.0f;
    free(out_il);
    *out_frames = want;
    return DGXM_OK;
}

dgxm_status dgxm_audio_writer_finish(dgxm_audio_writer *w, const float *audio, size_t frames,
                                     int in_rate, dgxm_error *err)
{
    float *resampled = NULL, *il = NULL;
    const float *src = audio;
    dgxm_status s = DGXM_OK;
    if (in_rate != w->rate) {
        s = dgxm_resample(audio, w->channels, frames, in_rate, w->rate, &resampled, &frames, err);
        src = resampled;
    }
    if (!s && !(il = malloc(frames * w->channels * sizeof *il)))
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: %zu frames", w->path, frames);
    if (!s && src && il) {
        for (size_t i = 0; i < frames; i++)
            for (int c = 0; c < w->channels; c++)
                il[i * w->channels + c] = src[(size_t)c * frames + i];
        if (sf_writef_float(w->file, il, (sf_count_t)frames) != (sf_count_t)frames)
            s = dgxm_error_set(err, DGXM_ERR_IO, "%s: write failed: %s", w->path,
                               sf_strerror(w->file));
    }
    free(il);
    free(resampled);
    if (!s && sf_close(w->file) != 0)
        s = dgxm_error_set(err, DGXM_ERR_IO, "%s: closing failed", w->path);
    else if (s)
        sf_close(w->file);
    w->file = NULL;
    if (!s && rename(w->tmp_path, w->path) != 0)
        s = dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot rename into place: %s", w->path,
                           strerror(errno));
    if (s)
        unlink(w->tmp_path);
    free(w->tmp_path);
    free(w->path);
    free(w);
    return s;
}
