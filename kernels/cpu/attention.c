/* Multi-head attention on the CPU: one task per (head, query) row, scores and softmax in
 * float32 with the row maximum subtracted, a zero output for a query with no valid key (the
 * fully masked rows of the guidance null branch would otherwise give NaN or uniform weights). */
#include "cpu_backend.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct attention_job {
    const float *q, *k, *v, *bias;
    const uint8_t *key_valid;
    float *out;
    int q_stride, kv_stride, lq, lk, head_dim;
    bool causal;
    float scale;
    atomic_bool out_of_memory;
} attention_job;

static void attend_row(const attention_job *j, int h, int i, float *scores)
{
    const float *qi = j->q + (size_t)i * j->q_stride + (size_t)h * j->head_dim;
    float *oi = j->out + (size_t)i * j->q_stride + (size_t)h * j->head_dim;
    int last = j->causal ? i + (j->lk - j->lq) : j->lk - 1;
    if (last >= j->lk)
        last = j->lk - 1;
    const float *bias_row = j->bias ? j->bias + ((size_t)h * j->lq + i) * j->lk : NULL;

    float max = -INFINITY;
    for (int t = 0; t <= last; t++) {
        if (j->key_valid && !j->key_valid[t]) {
            scores[t] = -INFINITY;
            continue;
        }
        const float *kt = j->k + (size_t)t * j->kv_stride + (size_t)h * j->head_dim;
        float s = j->scale * dgxm_dot_f32(qi, kt, j->head_dim);
        if (bias_row)
            s += bias_row[t];
        scores[t] = s;
        if (s > max)
            max = s;
    }
    memset(oi, 0, (size_t)j->head_dim * sizeof(float));
    if (max == -INFINITY)
        return;
    float sum = 0.0f;
    for (int t = 0; t <= last; t++) {
        float p = scores[t] == -INFINITY ? 0.0f : expf(scores[t] - max);
        scores[t] = p;
        sum += p;
    }
    float inv = 1.0f / sum;
    for (int t = 0; t <= last; t++) {
        if (scores[t] == 0.0f)
            continue;
        const float *vt = j->v + (size_t)t * j->kv_stride + (size_t)h * j->head_dim;
        float p = scores[t] * inv;
        for (int d = 0; d < j->head_dim; d++)
            oi[d] += p * vt[d];
    }
}

DGXM_HOT static void attention_range(void *ctx, size_t begin, size_t end)
{
    attention_job *j = ctx;
    float *scores = malloc((size_t)j->lk * sizeof(float));
    if (!scores) {
        atomic_store(&j->out_of_memory, true);
        return;
    }
    for (size_t task = begin; task < end; task++)
        attend_row(j, (int)(task / (size_t)j->lq), (int)(task % (size_t)j->lq), scores);
    free(scores);
}

dgxm_status dgxm_cpu_attention(dgxm_backend *b, const float *q, int q_stride, const float *k,
                               const float *v, int kv_stride, const float *bias,
                               const uint8_t *key_valid, bool causal, int heads, int lq, int lk,
                               int head_dim, float scale, float *out, dgxm_error *err)
{
    if (heads <= 0 || lq <= 0 || lk <= 0 || head_dim <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "attention: heads %d, lq %d, lk %d, head_dim %d", heads, lq, lk,
                              head_dim);
    attention_job job = { .q = q,
                          .k = k,
                          .v = v,
                          .bias = bias,
                          .key_valid = key_valid,
                          .out = out,
                          .q_stride = q_stride,
                          .kv_stride = kv_stride,
                          .lq = lq,
                          .lk = lk,
                          .head_dim = head_dim,
                          .causal = causal,
                          .scale = scale };
    atomic_init(&job.out_of_memory, false);
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)heads * lq, 4, attention_range, &job);
    if (atomic_load(&job.out_of_memory))
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "attention: scratch for %d keys", lk);
    return DGXM_OK;
}
