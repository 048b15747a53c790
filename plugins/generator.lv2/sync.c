/* Tempo math for synced loops; see sync.h. */
#include "sync.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

uint64_t gen_sync_loop_frames(int bars, double beats_per_bar, double bpm, double rate)
{
    if (bars <= 0 || !(beats_per_bar > 0) || !(bpm > 0) || !(rate > 0))
        return 0;
    return (uint64_t)llround((double)bars * beats_per_bar * 60.0 / bpm * rate);
}

uint64_t gen_sync_xfade_frames(double rate)
{
    return (uint64_t)llround(GEN_SYNC_XFADE_SECONDS * rate);
}

void gen_sync_make_loop(float *audio, uint64_t frames, uint64_t loop_frames, uint64_t xfade)
{
    if (frames < loop_frames + xfade)
        xfade = frames > loop_frames ? frames - loop_frames : 0;
    for (uint64_t i = 0; i < xfade; i++) {
        /* equal power: head and tail are different music, so their powers add */
        double t = ((double)i + 0.5) / (double)xfade;
        float in = (float)sin(t * M_PI / 2), out = (float)cos(t * M_PI / 2);
        for (int c = 0; c < 2; c++) {
            float head = audio[i * 2 + c], tail = audio[(loop_frames + i) * 2 + c];
            audio[i * 2 + c] = head * in + tail * out;
        }
    }
}

uint64_t gen_sync_phase(double beats, double loop_beats, uint64_t loop_frames)
{
    if (!(loop_beats > 0) || loop_frames == 0)
        return 0;
    double in_loop = fmod(beats, loop_beats);
    if (in_loop < 0)
        in_loop += loop_beats;
    /* a position on a frame must not truncate to the one before it through rounding error */
    uint64_t frame = (uint64_t)(in_loop / loop_beats * (double)loop_frames + 1e-6);
    return frame < loop_frames ? frame : loop_frames - 1;
}

int gen_sync_prompt_hint(const char *prompt, double bpm, char *out, size_t size)
{
    char num[32];
    snprintf(num, sizeof num, "%.2f", bpm);
    char *end = num + strlen(num) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    int n = snprintf(out, size, "%s, %s bpm", prompt, num);
    return n < 0 || (size_t)n >= size ? -1 : n;
}
