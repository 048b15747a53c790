/* Token choice: see sampler.h. The order of operations follows the reference's logits
 * processors: temperature, then top-k (every logit below the k-th largest is dropped, ties kept),
 * then top-p over the renormalised distribution (drop the least likely tokens whose cumulative
 * mass stays within 1 - p, always keeping the most likely), then a draw. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>

dgxm_status dgxm_sampling_validate(const dgxm_sampling *p, dgxm_error *err)
{
    if (!isfinite(p->guidance) || p->guidance < 0 || p->guidance > 100)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "guidance %g: must be a finite number in [0, 100]", p->guidance);
    if (p->greedy)
        return DGXM_OK;
    if (!isfinite(p->temperature) || p->temperature <= 0 || p->temperature > 100)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "temperature %g: must be a finite number in (0, 100]",
                              p->temperature);
    if (p->top_k < 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "top-k %d: must be 0 (off) or more",
                              p->top_k);
    if (!isfinite(p->top_p) || p->top_p <= 0 || p->top_p > 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "top-p %g: must be in (0, 1]", p->top_p);
    return DGXM_OK;
}

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"). */
static void philox4x32_10(uint32_t ctr[4], uint32_t key[2])
{
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
        uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
        uint32_t next[4] = { (uint32_t)(p1 >> 32) ^ ctr[1] ^ key[0], (uint32_t)p1,
                             (uint32_t)(p0 >> 32) ^ ctr[3] ^ key[1], (uint32_t)p0 };
        for (int i = 0; i < 4; i++)
            ctr[i] = next[i];
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
}

float dgxm_philox_uniform(uint64_t seed, uint32_t step, uint32_t lane)
{
    uint32_t ctr[4] = { step, lane, 0, 0 };
    uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    philox4x32_10(ctr, key);
    return (float)(ctr[0] >> 8) * (1.0f / 16777216.0f); /* 24 bits: exactly representable */
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static int by_logit_descending(const void *a, const void *b)
{
    const dgxm_token_weight *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->index - y->index; /* stable: lower index first */
}

int dgxm_sample_token(const float *logits, int n, const dgxm_sampling *p, float u,
                      dgxm_token_weight *w)
{
    if (p->greedy)
        return argmax(logits, n);
    for (int i = 0; i < n; i++) {
        w[i].logit = (float)(logits[i] / p->temperature);
        w[i].index = i;
    }
    qsort(w, (size_t)n, sizeof *w, by_logit_descending);

    int keep = n;
    if (p->top_k > 0 && p->top_k < n) {
        float kth = w[p->top_k - 1].logit;
        keep = p->top_k;
        while (keep < n && w[keep].logit == kth)
            keep++; /* ties with the k-th value survive, as in the reference */
    }
    /* Softmax over the survivors in descending order; the sum in double. */
    double max = w[0].logit, sum = 0;
    for (int i = 0; i < keep; i++) {
        w[i].logit = (float)exp(w[i].logit - max);
        sum += w[i].logit;
    }
    if (p->top_p < 1.0) {
        double tail = 0, cut = (1.0 - p->top_p) * sum;
        /* Drop from the least likely end while the dropped mass stays within 1 - p. */
        while (keep > 1 && tail + w[keep - 1].logit <= cut)
            tail += w[--keep].logit;
        sum -= tail;
    }
    double target = u * sum, acc = 0;
    for (int i = 0; i < keep; i++) {
        acc += w[i].logit;
        if (target < acc)
            return w[i].index;
    }
    return w[keep - 1].index;
}
