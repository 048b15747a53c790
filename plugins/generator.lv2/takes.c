/* Take records: from jobs, empty slots, info text. Worker and state threads. */
#include "takes.h"

#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gen_take *gen_take_new_from_job(dgxm_job *job, const gen_settings *s, uint64_t loop_frames,
                                double rate, char *msg, size_t msg_size)
{
    uint64_t frames = 0;
    const float *clip = dgxm_job_take(job, &frames);
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    if (!clip || f.channels != 2) {
        snprintf(msg, msg_size, "the finished job kept no whole clip (%llu frames)",
                 (unsigned long long)f.frames);
        return NULL;
    }
    gen_take *t = calloc(1, sizeof *t);
    float *audio = t ? malloc((size_t)frames * 2 * sizeof *audio) : NULL;
    if (!audio) {
        free(t);
        snprintf(msg, msg_size, "out of memory for a take of %llu frames",
                 (unsigned long long)frames);
        return NULL;
    }
    memcpy(audio, clip, (size_t)frames * 2 * sizeof *audio);
    t->settings = *s;
    t->audio = audio;
    t->frames = frames;
    t->rate = (int)rate;
    if (loop_frames > 0 && loop_frames <= frames) {
        gen_sync_make_loop(audio, frames, loop_frames, gen_sync_xfade_frames(rate));
        t->frames = t->loop_frames = loop_frames;
    }
    return t;
}

gen_take *gen_take_new_empty(const gen_settings *s)
{
    gen_take *t = calloc(1, sizeof *t);
    if (t)
        t->settings = *s;
    return t;
}

void gen_take_free(gen_take *t)
{
    if (!t)
        return;
    free(t->audio);
    free(t);
}

int gen_take_info_format(const gen_settings *s, char *out, size_t size)
{
    int n =
        snprintf(out, size,
                 "seed=%lld\nsync=%d\nseconds=%.17g\nbars=%d\nbpm=%.17g\nbeats_per_bar=%.17g\n"
                 "guidance=%.9g\ntemperature=%.9g\ntop_k=%d\nmodel=%s\nprompt=%s",
                 (long long)s->seed, s->sync ? 1 : 0, s->seconds, s->bars, s->bpm, s->beats_per_bar,
                 (double)s->guidance, (double)s->temperature, s->top_k, s->model, s->prompt);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Copies the value of `key=` at line into dst (up to the line end). */
static void copy_value(const char *v, const char *end, char *dst, size_t size)
{
    size_t n = (size_t)(end - v);
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

bool gen_take_info_parse(const char *text, size_t len, gen_settings *s)
{
    gen_settings_defaults(s);
    const char *p = text, *stop = text + len;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *end = nl ? nl : stop;
        char num[64];
        if (!strncmp(p, "prompt=", 7)) { /* the prompt is last and may hold newlines */
            copy_value(p + 7, stop, s->prompt, sizeof s->prompt);
            break;
        }
        if (!strncmp(p, "model=", 6)) {
            copy_value(p + 6, end, s->model, sizeof s->model);
        } else {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (eq) {
                copy_value(eq + 1, end, num, sizeof num);
                size_t k = (size_t)(eq - p);
                char *e = NULL;
                double v = strtod(num, &e);
                if (e != num) {
                    if (k == 4 && !strncmp(p, "seed", 4))
                        s->seed = strtoll(num, NULL, 10);
                    else if (k == 4 && !strncmp(p, "sync", 4))
                        s->sync = v != 0;
                    else if (k == 7 && !strncmp(p, "seconds", 7))
                        s->seconds = v;
                    else if (k == 4 && !strncmp(p, "bars", 4))
                        s->bars = (int)v;
                    else if (k == 3 && !strncmp(p, "bpm", 3))
                        s->bpm = v;
                    else if (k == 13 && !strncmp(p, "beats_per_bar", 13))
                        s->beats_per_bar = v;
                    else if (k == 8 && !strncmp(p, "guidance", 8))
                        s->guidance = (float)v;
                    else if (k == 11 && !strncmp(p, "temperature", 11))
                        s->temperature = (float)v;
                    else if (k == 5 && !strncmp(p, "top_k", 5))
                        s->top_k = (int)v;
                }
            }
        }
        p = end + 1;
    }
    return s->prompt[0] != '\0';
}
