/* The ends of the decode step on the device: the input embedding of the previous grid column,
 * and the token choice (guidance, then greedy or temperature / top-k / top-p with a Philox draw)
 * that writes the next column and moves the counters on.
 *
 * The choice must equal core/sampler.c's for the same logits, so the arithmetic is the host's
 * step for step: guidance with rounded (unfused) float operations, temperature in double, the
 * survivors in the host's order (logit descending, index ascending), their weights as
 * float(exp(double)), and the sums and the draw accumulated in double in that order by one
 * thread. With top-k the survivors are found by a radix select of the k-th value and ordered
 * by rank among themselves (17.6 us a step for musicgen-small on an H200, against 44.5 us for
 * the full sort of the vocabulary); the full bitonic sort remains for top-p or plain
 * sampling without top-k. */
#include "step_internal.h"

namespace
{

constexpr int SAMPLE_THREADS = 1024;

__global__ void embed_kernel(const dgxm_step_embed_args a)
{
    dgxm_pdl_trigger();
    dgxm_pdl_wait();
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= a.hidden)
        return;
    const int step = a.counters->step, columns = a.counters->columns;
    float x = a.positions[(long long)a.counters->position * a.hidden + i];
    for (int k = 0; k < a.codebooks; k++) {
        const int token = a.grid[k * columns + step - 1];
        x += a.embed[k][(long long)token * a.hidden + i];
    }
    for (int r = 0; r < a.rows; r++)
        a.x[r * a.hidden + i] = x;
}

/* Philox4x32-10, as core/sampler.c. */
__device__ float philox_uniform(uint64_t seed, uint32_t step, uint32_t lane)
{
    uint32_t c0 = step, c1 = lane, c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        const uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return (float)(c0 >> 8) * (1.0f / 16777216.0f);
}

/* a before b in the host's order: larger logit first, then lower index. */
__device__ __forceinline__ bool before(float la, int ia, float lb, int ib)
{
    return la > lb || (la == lb && ia < ib);
}

/* Bitonic sort of key / idx [0, n) (n a power of two) into the host's order. */
__device__ void full_sort(float *key, int *idx, int n)
{
    for (int size = 2; size <= n; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                const int j = i ^ stride;
                if (j <= i)
                    continue;
                const bool up = (i & size) == 0;
                const bool swap = up ? before(key[j], idx[j], key[i], idx[i])
                                     : before(key[i], idx[i], key[j], idx[j]);
                if (swap) {
                    const float tk = key[i];
                    const int ti = idx[i];
                    key[i] = key[j], idx[i] = idx[j];
                    key[j] = tk, idx[j] = ti;
                }
            }
            __syncthreads();
        }
    }
}

/* A float's bits as an unsigned that orders as the float does (no NaN; -0 made +0 before). */
__device__ __forceinline__ unsigned ordered_bits(float f)
{
    const unsigned u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The ordered bits of the top_k-th largest of key[0, V), by four 8-bit radix passes (the
 * MSB first): each pass counts the candidates' next digit and keeps the digit where the
 * top_k-th falls. Every thread returns the same value. */
__device__ unsigned kth_largest_bits(const float *key, int V, int top_k, int *hist, int *shared)
{
    unsigned prefix = 0, mask = 0;
    int need = top_k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x)
            hist[i] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < V; i += blockDim.x) {
            /* logits share their top digits: one atomic per digit and warp, not per lane */
            const unsigned u = ordered_bits(key[i]);
            const bool candidate = (u & mask) == prefix;
            const unsigned digit = (u >> shift) & 255u;
            const unsigned peers = __match_any_sync(__activemask(), candidate ? digit : 256u);
            if (candidate && (threadIdx.x & 31) == __ffs(peers) - 1)
                atomicAdd(&hist[digit], __popc(peers));
        }
        __syncthreads();
        if (threadIdx.x < 32) {
            /* lane l holds digits 255 - 8l down to 248 - 8l: counts from the top digit down */
            const int lane = threadIdx.x;
            int own = 0;
            for (int d = 0; d < 8; d++)
                own += hist[255 - 8 * lane - d];
            int incl = own;
            for (int o = 1; o < 32; o <<= 1) {
                const int v = __shfl_up_sync(0xffffffffu, incl, o);
                if (lane >= o)
                    incl += v;
            }
            int above = incl - own; /* candidates with a digit above this lane's */
            if (above < need && need <= incl) {
                for (int d = 0; d < 8; d++) {
                    const int digit = 255 - 8 * lane - d, here = hist[digit];
                    if (need <= above + here) {
                        shared[0] = digit;
                        shared[1] = need - above;
                        break;
                    }
                    above += here;
                }
            }
        }
        __syncthreads();
        prefix |= (unsigned)shared[0] << shift;
        mask |= 255u << shift;
        need = shared[1];
        __syncthreads(); /* shared and hist are rewritten by the next pass */
    }
    return prefix;
}

/* The survivors of top-k (every key at least the k-th largest, so ties with it survive, as
 * on the host) into key[0, count) / idx[0, count) in the host's order, without sorting the
 * whole vocabulary: compacted into idx's space, then each placed at its rank among them.
 * Returns the count, or 0 when more than half the vocabulary ties (then nothing is moved and
 * the full sort runs). */
__device__ int top_k_survivors(float *key, int *idx, int V, int top_k, int *hist, int *shared)
{
    const unsigned kth = kth_largest_bits(key, V, top_k, hist, shared);
    const int room = DGXM_STEP_MAX_VOCAB / 2;
    float *ck = reinterpret_cast<float *>(idx);
    int *ci = idx + room;
    if (threadIdx.x == 0)
        shared[2] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        const unsigned active = __activemask();
        const bool survives = ordered_bits(key[i]) >= kth;
        const unsigned ballot = __ballot_sync(active, survives);
        const int lane = threadIdx.x & 31, leader = __ffs(active) - 1;
        int base = 0;
        if (lane == leader && ballot)
            base = atomicAdd(&shared[2], __popc(ballot));
        base = __shfl_sync(active, base, leader);
        const int at = base + __popc(ballot & ((1u << lane) - 1u));
        if (survives && at < room)
            ck[at] = key[i], ci[at] = i;
    }
    __syncthreads();
    const int count = shared[2];
    if (count > room)
        return 0;
    constexpr int PER = DGXM_STEP_MAX_VOCAB / 2 / SAMPLE_THREADS;
    float mine_k[PER] = {};
    int mine_i[PER] = {}, rank[PER];
#pragma unroll
    for (int q = 0; q < PER; q++) {
        const int j = threadIdx.x + q * SAMPLE_THREADS;
        rank[q] = -1;
        if (j >= count)
            continue;
        mine_k[q] = ck[j], mine_i[q] = ci[j];
        int r = 0;
        for (int i = 0; i < count; i++)
            r += before(ck[i], ci[i], mine_k[q], mine_i[q]);
        rank[q] = r; /* distinct: the index breaks every tie */
    }
    __syncthreads(); /* every read of ck / ci is done: idx may be overwritten */
#pragma unroll
    for (int q = 0; q < PER; q++)
        if (rank[q] >= 0)
            key[rank[q]] = mine_k[q], idx[rank[q]] = mine_i[q];
    __syncthreads();
    return count;
}

/* The end of codebook k's block (thread 0): its token into this step's row of the host's mapped
 * columns; the last block to arrive moves the counters on, once every block has read them. The
 * fence orders the grid write and the column before the arrival, so the last block's counter
 * update follows every block's stores. */
__device__ void finish(const dgxm_step_sample_args &a, int k, int step, int32_t token)
{
    a.columns[(size_t)step * a.codebooks + k] = token;
    __threadfence();
    if (atomicAdd(a.arrivals, 1) != (int)gridDim.x - 1)
        return;
    *a.arrivals = 0;
    a.counters->step++;
    a.counters->position++;
    a.counters->steps_done++;
}

/* One block per codebook. */
__global__ void __launch_bounds__(SAMPLE_THREADS) sample_kernel(const dgxm_step_sample_args a)
{
    __shared__ float key[DGXM_STEP_MAX_VOCAB];
    __shared__ int idx[DGXM_STEP_MAX_VOCAB];
    __shared__ float best_v[32];
    __shared__ int best_i[32];
    __shared__ int hist[256], sel[3];
    __shared__ int keep;
    dgxm_pdl_trigger();
    dgxm_pdl_wait();
    const int k = blockIdx.x, V = a.vocab, K = a.codebooks;
    const int step = a.counters->step, columns = a.counters->columns;
    const int prompt = a.counters->prompt, frames = a.counters->frames;
    const uint32_t steps_done = (uint32_t)a.counters->steps_done;
    __syncthreads(); /* every thread has read the counters before its block can arrive (finish) */
    const int t = step - 1 - k / a.channels;
    int32_t *cell = a.grid + k * columns + step;
    if (t < prompt || t >= frames) {
        if (threadIdx.x == 0)
            finish(a, k, step, *cell); /* a prompt code or a special token stays */
        return;
    }
    const float *cond = a.logits + (long long)k * V;
    const float *uncond = a.logits + ((long long)K + k) * V;
    const float g = a.sampling.guidance;

    int n = 1;
    while (n < V)
        n <<= 1;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = -INFINITY;
        if (i < V) {
            v = cond[i];
            if (a.rows == 2)
                v = __fadd_rn(uncond[i], __fmul_rn(__fsub_rn(cond[i], uncond[i]), g));
            if (!a.sampling.greedy)
                v = (float)((double)v / a.sampling.temperature);
            if (v == 0.0f)
                v = 0.0f; /* -0 equals +0 on the host: one bit pattern for the radix select */
        }
        key[i] = v;
    }
    __syncthreads();

    if (a.sampling.greedy) {
        /* argmax, the lowest index among equal maxima */
        float bv = -INFINITY;
        int bi = V;
        for (int i = threadIdx.x; i < V; i += blockDim.x)
            if (bi == V || before(key[i], i, bv, bi))
                bv = key[i], bi = i;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi < V && (bi == V || before(ov, oi, bv, bi)))
                bv = ov, bi = oi;
        }
        if ((threadIdx.x & 31) == 0)
            best_v[threadIdx.x >> 5] = bv, best_i[threadIdx.x >> 5] = bi;
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < (int)(blockDim.x >> 5); w++)
                if (best_i[w] < V && before(best_v[w], best_i[w], best_v[0], best_i[0]))
                    best_v[0] = best_v[w], best_i[0] = best_i[w];
            *cell = best_i[0];
            finish(a, k, step, best_i[0]);
        }
        return;
    }

    const int top_k = a.sampling.top_k;
    /* top-k (MusicGen's default, 250): only the survivors are put in order */
    int survivors = top_k > 0 && top_k < V ? top_k_survivors(key, idx, V, top_k, hist, sel) : 0;
    if (survivors == 0) {
        for (int i = threadIdx.x; i < n; i += blockDim.x)
            idx[i] = i;
        __syncthreads();
        full_sort(key, idx, n);
        if (threadIdx.x == 0) {
            int kk = V;
            if (top_k > 0 && top_k < V) {
                const float kth = key[top_k - 1];
                kk = top_k;
                while (kk < V && key[kk] == kth)
                    kk++; /* ties with the k-th value survive */
            }
            keep = kk;
        }
        __syncthreads();
        survivors = keep;
    }
    const double max = key[0];
    __syncthreads();
    for (int i = threadIdx.x; i < survivors; i += blockDim.x)
        key[i] = (float)exp((double)key[i] - max);
    __syncthreads();
    if (threadIdx.x != 0)
        return;
    int kk = survivors;
    double sum = 0;
    for (int i = 0; i < kk; i++)
        sum += key[i];
    if (a.sampling.top_p < 1.0) {
        double tail = 0, cut = (1.0 - a.sampling.top_p) * sum;
        while (kk > 1 && tail + key[kk - 1] <= cut)
            tail += key[--kk];
        sum -= tail;
    }
    const float u = philox_uniform(a.sampling.seed, steps_done, (uint32_t)k);
    const double target = u * sum;
    double acc = 0;
    int token = idx[kk - 1];
    for (int i = 0; i < kk; i++) {
        acc += key[i];
        if (target < acc) {
            token = idx[i];
            break;
        }
    }
    *cell = token;
    finish(a, k, step, token);
}

} // namespace

static dgxm_status launched(cudaError_t e, const char *op, dgxm_error *err)
{
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, op, "launch");
    return dgxm_cuda_launched(err, op);
}

dgxm_status dgxm_step_embed(const dgxm_step_embed_args *a, cudaStream_t s, bool pdl,
                            dgxm_error *err)
{
    const dgxm_step_embed_args args = *a;
    return launched(dgxm_step_launch(embed_kernel, dim3((unsigned)((a->hidden + 255) / 256)),
                                     dim3(256), 0, s, pdl, args),
                    "step embed", err);
}

dgxm_status dgxm_step_sample(const dgxm_step_sample_args *a, cudaStream_t s, bool pdl,
                             dgxm_error *err)
{
    if (a->vocab > DGXM_STEP_MAX_VOCAB)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "step sample: vocabulary of %d > %d",
                              a->vocab, (int)DGXM_STEP_MAX_VOCAB);
    const dgxm_step_sample_args args = *a;
    return launched(dgxm_step_launch(sample_kernel, dim3((unsigned)a->codebooks),
                                     dim3(SAMPLE_THREADS), 0, s, pdl, args),
                    "step sample", err);
}
