/* One LSTM layer on the CPU. The input projection of every step is one blocked matrix product
 * up front (the linear op); the recurrence then needs only h . W_hh^T per step, split across the
 * pool by gate rows. */
#include "cpu_backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct recur_job {
    const float *w_hh, *h, *pre;
    float *gates;
    int hidden;
} recur_job;

DGXM_HOT static void recur_range(void *ctx, size_t begin, size_t end)
{
    const recur_job *j = ctx;
    for (size_t g = begin; g < end; g++)
        j->gates[g] = j->pre[g] + dgxm_dot_f32(j->h, j->w_hh + g * (size_t)j->hidden, j->hidden);
}

static float sigmoidf(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

dgxm_status dgxm_cpu_lstm(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                          const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                          float *y, dgxm_error *err)
{
    if (cin <= 0 || t <= 0 || hidden <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "lstm: cin %d, steps %d, hidden %d", cin,
                              t, hidden);
    const int G = 4 * hidden;
    float *pre = malloc((size_t)t * G * sizeof *pre);
    float *state = calloc((size_t)2 * hidden + G, sizeof *state); /* h, c, gates */
    float *xt = malloc((size_t)t * cin * sizeof *xt);
    if (!pre || !state || !xt) {
        free(pre), free(state), free(xt);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "lstm: %d steps of %d gates", t, G);
    }
    for (int ch = 0; ch < cin; ch++)
        for (int s = 0; s < t; s++)
            xt[(size_t)s * cin + ch] = x[(size_t)ch * t + s];
    float *h = state, *c = state + hidden, *gates = state + 2 * hidden;
    /* pre[s] = W_ih x_s + b_ih, then + b_hh: the two biases added in the reference's order */
    dgxm_matrix w_in = { .format = DGXM_WEIGHT_F32, .rows = G, .cols = cin, .data = (void *)w_ih };
    dgxm_status st = dgxm_cpu_linear(b, &w_in, b_ih, xt, t, pre, false, err);
    if (st) {
        free(pre), free(state), free(xt);
        return st;
    }
    for (int s = 0; s < t; s++)
        for (int g = 0; g < G; g++)
            pre[(size_t)s * G + g] += b_hh[g];
    for (int s = 0; s < t; s++) {
        recur_job rj = { w_hh, h, pre + (size_t)s * G, gates, hidden };
        dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)G, 256, recur_range, &rj);
        for (int i = 0; i < hidden; i++) {
            float ig = sigmoidf(gates[i]), fg = sigmoidf(gates[hidden + i]);
            float gg = tanhf(gates[2 * hidden + i]), og = sigmoidf(gates[3 * hidden + i]);
            c[i] = fg * c[i] + ig * gg;
            h[i] = og * tanhf(c[i]);
            y[(size_t)i * t + s] = h[i];
        }
    }
    free(pre);
    free(state);
    free(xt);
    return DGXM_OK;
}
