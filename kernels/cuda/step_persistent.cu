/* The decoder stack of one step as one persistent kernel (dgxm_persist_args in
 * step_internal.h): the embedding, then the phase table - per layer [LayerNorm + Q,K,V -> KV
 * cache], self-attention, [O + residual], the cross-attention (folded: [LayerNorm + scores],
 * [softmax + folded O + residual]; or [LayerNorm + cross Q], cross-attention, [cross O +
 * residual]), [LayerNorm + fc1 + GELU], [fc2 + residual] - and [final LayerNorm + heads]. Each
 * phase is split over all blocks (one per SM) and a grid-wide barrier stands where a kernel
 * boundary stood.
 *
 * Why it exists: at batch 2 a phase moves 1-34 MB, a few microseconds of bandwidth, and a
 * kernel boundary costs about as much again (launch, first DRAM round trip, tail). A barrier
 * costs about a microsecond, but a block that only starts its weight loads after it would still
 * pay the round trip and run each phase at the latency of its own loads. So the weights do not
 * wait for barriers: every block owns a fixed run of each GEMV's rows, and one thread walks the
 * block's whole weight sequence of the step - every GEMV phase of every layer - issuing bulk
 * copies (cp.async.bulk, sm_90 and later) of up to 16 KB into a ring of shared-memory slots, a
 * slot refilled as soon as the block has used it. The copies of the next phases are in flight
 * while the block waits at a barrier, runs an attention or normalises x, so the memory system
 * sees one continuous stream per SM.
 *
 * A chunk is a run of whole rows of one segment (or one slot-sized piece of a row longer than a
 * slot). Every warp walks the block's chunk sequence; warp w owns rows [w n / 8, (w + 1) n / 8)
 * of the block's n rows of a phase and sums each of them whole, up to 4 rows at a time (so a
 * value of x read from shared memory serves 4 rows), across the pieces of a long row too, then
 * stores it. A warp marks each slot read on an mbarrier of the slot (all 8 warps), and thread 0
 * refills a slot once it is read by all: within a phase no warp waits for another, and each
 * sum has one order, so results do not depend on timing.
 *
 * Status (docs/performance.md): opt-in with DGXM_CUDA_PERSISTENT=1, because it is still slower
 * than the kernel-per-phase graph (H200, same run: musicgen-small bf16 1.24 against 1.01 ms a
 * step, medium 3.48 against 2.84, large 4.51 against 3.50). The stream itself is not the limit
 * (DGXM_CUDA_PERSIST_PROBE=stream); the timeline (DGXM_CUDA_PERSIST_TIMELINE) shows where a
 * phase's time goes: about 1.2 us (2.5 with a LayerNorm) from the barrier to x in shared
 * memory, 1-4 us of rows, 1 us from the block's arrival to the last block passing the barrier,
 * and 9 us for a self-attention late in the clip.
 *
 * Everything the step writes (x, q, attn, ff, scores, this position's K/V, attention partials)
 * is read back through L2 only (ld.cg): other blocks wrote it during this launch and L1 is not
 * coherent between SMs. */
#include "step_attention_block.cuh"
#include "step_gemv_common.cuh"

#include <stdlib.h>
#include <string.h>

namespace
{

using namespace dgxm_step;

constexpr int WARPS = 8; /* one block per SM; the attention is written for 8 warps */
constexpr int THREADS = WARPS * 32;
constexpr int MAX_SLOTS = 16;
constexpr int CHUNK_ROWS = 32; /* rows per chunk at most (short rows) */
constexpr int UNIT_ROWS = 4;   /* rows a warp sums at once, sharing each read of x */
constexpr int SLOT_BYTES = 16384;

/* Grid-wide barrier of co-resident blocks: one word whose top bit flips once all blocks have
 * arrived (block 0 adds 2^31 - (blocks - 1), every other block 1), so it needs no reset. Thread
 * 0 reads the top bit once at the start of the launch (it cannot flip before this block's first
 * arrival) and from then on knows the value each barrier leaves: the arrival is a reduction
 * that returns nothing, so no block waits for its own arrival's round trip before it polls.
 * The arrival is a release (the block's writes, ordered before it by the first bar.sync, are
 * visible to whoever sees it) and one acquire fence follows the wait: the polls themselves are
 * relaxed, so they do not invalidate L1 each time, and no sequentially consistent fence is
 * needed (two of those cost more than the rest). */
__device__ __forceinline__ unsigned grid_sense(const unsigned *word)
{
    unsigned now = 0;
    if (threadIdx.x == 0)
        asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(now) : "l"(word) : "memory");
    return now & 0x80000000u;
}

__device__ __forceinline__ void grid_arrive(unsigned *word)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        const unsigned inc = blockIdx.x == 0 ? 0x80000000u - (gridDim.x - 1) : 1u;
        asm volatile("red.release.gpu.global.add.u32 [%0], %1;" ::"l"(word), "r"(inc) : "memory");
    }
}

/* sense: thread 0's top bit before this barrier, flipped here. */
__device__ __forceinline__ void grid_wait(const unsigned *word, unsigned &sense)
{
    if (threadIdx.x == 0) {
        sense ^= 0x80000000u;
        unsigned now;
        do {
            asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(now) : "l"(word) : "memory");
        } while ((now & 0x80000000u) != sense);
        asm volatile("fence.acq_rel.gpu;" ::: "memory");
    }
    __syncthreads();
}

__device__ __forceinline__ void grid_sync(unsigned *word, unsigned &sense)
{
    grid_arrive(word);
    grid_wait(word, sense);
}

/* Thread 0's record of the block's progress, when the launch keeps a timeline. */
__device__ __forceinline__ void stamp(unsigned long long *timeline, int phase, int what)
{
    if (!timeline || threadIdx.x != 0)
        return;
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    timeline[((size_t)phase * gridDim.x + blockIdx.x) * DGXM_PERSIST_STAMPS + what] = t;
}

/* The bulk-copy ring's primitives (PTX of sm_90 and later). Each slot has one mbarrier that
 * completes when its copy has landed; its phase bit flips once per use of the slot. */
__device__ __forceinline__ unsigned shared_address(const void *p)
{
    return (unsigned)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void slot_init(unsigned long long *bar, unsigned arrivals)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(arrivals)
                 : "memory");
#endif
}

/* The initialised barriers visible to the copy engine before the first copy. */
__device__ __forceinline__ void slot_init_fence(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}

__device__ __forceinline__ void slot_fill(void *dst, const void *src, unsigned bytes,
                                          unsigned long long *bar)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile(
        "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)),
        "r"(bytes)
        : "memory");
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], "
                 "%2, [%3];" ::"r"(shared_address(dst)),
                 "l"(src), "r"(bytes), "r"(shared_address(bar))
                 : "memory");
#endif
}

__device__ __forceinline__ void slot_wait(unsigned long long *bar, unsigned parity)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    unsigned done = 0;
    do {
        asm volatile("{\n\t.reg .pred p;\n\t"
                     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
                     "selp.u32 %0, 1, 0, p;\n\t}"
                     : "=r"(done)
                     : "r"(shared_address(bar)), "r"(parity)
                     : "memory");
    } while (!done);
#endif
}

/* Whether the phase of the given parity has completed, without waiting. */
__device__ __forceinline__ bool slot_test(unsigned long long *bar, unsigned parity)
{
    unsigned done = 1;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("{\n\t.reg .pred p;\n\t"
                 "mbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
                 "selp.u32 %0, 1, 0, p;\n\t}"
                 : "=r"(done)
                 : "r"(shared_address(bar)), "r"(parity)
                 : "memory");
#endif
    return done != 0;
}

/* One warp's arrival at a slot's "read" barrier (its lane 0, after the warp's reads). */
__device__ __forceinline__ void slot_release(unsigned long long *bar)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
#endif
}

/* Asynchronous 16-byte copies into shared memory through L2 (cp.async, sm_80 and later): the
 * block's chunk table and the next phase's descriptor arrive while it works on this one. */
__device__ __forceinline__ void copy16_async(void *dst, const void *src)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_address(dst)), "l"(src)
                 : "memory");
}

__device__ __forceinline__ void async_commit(void)
{
    asm volatile("cp.async.commit_group;" ::: "memory");
}

template <int N> __device__ __forceinline__ void async_wait(void)
{
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

__host__ __device__ inline int weight_bytes(int format)
{
    return format == DGXM_WEIGHT_F32 ? 4 : format == DGXM_WEIGHT_INT8 ? 1 : 2;
}

__host__ __device__ inline int phase_features(const dgxm_persist_phase &p)
{
    int n = 0;
    for (int i = 0; i < p.segments; i++)
        n += p.seg[i].features;
    return n;
}

/* Block b of g's run of a phase's features: [first, end). */
__host__ __device__ inline int2 block_rows(int features, int b, int g)
{
    const long long f = features;
    return make_int2((int)(f * b / g), (int)(f * (b + 1) / g));
}

constexpr int TABLE = 64; /* chunk entries the block keeps in shared memory */
constexpr int AHEAD = 32; /* entries fetched ahead of use (more than MAX_SLOTS + 15) */
constexpr int DESC16 = sizeof(dgxm_persist_phase) / 16;
static_assert(sizeof(dgxm_persist_phase) % 16 == 0, "phase descriptors copy in 16-byte pieces");
static_assert(sizeof(dgxm_persist_chunk) == 16, "chunk entries copy in one 16-byte piece");
static_assert(DESC16 <= 32, "one warp copies a phase descriptor");

/* The block's shared state. */
struct block_shared {
    dgxm_persist_phase desc[2]; /* this phase's and the next's */
    dgxm_persist_chunk table[TABLE];
    float red[64];
    unsigned long long full[MAX_SLOTS]; /* a slot's copy has landed */
    unsigned long long read[MAX_SLOTS]; /* every warp is done with a slot's chunk */
    attention_shared<WARPS> att;
};

/* Where the block is in its chunk sequence, and the ring. Every warp walks the whole sequence
 * (used: the chunks it has passed, which names slot and parity); thread 0 alone refills. */
struct stream {
    const dgxm_persist_chunk *chunks; /* the block's, in global memory */
    int count;                        /* chunks of the block per step */
    int used;                         /* chunks this warp has passed in this launch */
    int next;                         /* thread 0: the next chunk to copy into the ring */
    unsigned char *ring;
    int slot_bytes, slots;
};

__device__ __forceinline__ unsigned chunk_bytes(const dgxm_persist_chunk &c)
{
    return (unsigned)(c.rows & 63) * c.loads * 16u;
}

/* Thread 0: copies every chunk whose slot every warp has read into that slot, in order, and
 * fetches the table entry AHEAD - slots on for each. The entry being issued was fetched at least
 * 16 copies ago, which wait_group 15 guarantees has landed. Never waits for a warp. */
__device__ void top_up(stream &st, block_shared &sh)
{
    while (st.next < st.count) {
        const int n = st.next, slot = n % st.slots;
        if (!slot_test(&sh.read[slot], (unsigned)(n / st.slots - 1) & 1u))
            return;
        async_wait<15>();
        const dgxm_persist_chunk &c = sh.table[n % TABLE];
        slot_fill(st.ring + (size_t)slot * st.slot_bytes, c.src, chunk_bytes(c), &sh.full[slot]);
        const int e = n - st.slots + AHEAD;
        if (e < st.count)
            copy16_async(&sh.table[e % TABLE], &st.chunks[e]);
        async_commit();
        st.next++;
    }
}

/* Every thread of a warp: waits until the warp's next chunk has landed (thread 0 refilling the
 * ring meanwhile, so that a slot a slower warp frees is reused at once) and returns its slot.
 * The table entry of a landed chunk is in shared memory and visible: thread 0 waited for it
 * before the copy whose completion this observes. */
__device__ __forceinline__ int next_chunk(stream &st, block_shared &sh)
{
    const int slot = st.used % st.slots;
    const unsigned parity = (unsigned)(st.used / st.slots) & 1u;
    if (threadIdx.x == 0)
        do /* at least once: a phase longer than the ring refills as it goes */
            top_up(st, sh);
        while (!slot_test(&sh.full[slot], parity));
    __syncwarp();
    slot_wait(&sh.full[slot], parity);
    return slot;
}

/* The warp is done with its current chunk's slot. */
__device__ __forceinline__ void pass_chunk(stream &st, block_shared &sh, int slot)
{
    __syncwarp();
    if ((threadIdx.x & 31) == 0)
        slot_release(&sh.read[slot]);
    st.used++;
}

/* Normalises M rows of k floats in place (two passes, biased variance, eps 1e-5, as the CPU
 * oracle), the weights of this thread's first 2 float4s of each row taken from registers
 * loaded before x arrived. */
template <int M>
__device__ void norm_rows(float *xn, int k, const float4 *lw, const float4 *lb, const float *w,
                          const float *b, float *red)
{
    const int k4 = k / 4;
    float4 *v4 = reinterpret_cast<float4 *>(xn);
    float2 sum = make_float2(0.0f, 0.0f);
    for (int i = threadIdx.x; i < k4; i += THREADS) {
        const float4 a = v4[i];
        sum.x += (a.x + a.y) + (a.z + a.w);
        if (M > 1) {
            const float4 c = v4[k4 + i];
            sum.y += (c.x + c.y) + (c.z + c.w);
        }
    }
    sum = block_sum2(sum, red);
    const float mean[2] = { sum.x / (float)k, sum.y / (float)k };
    float2 var = make_float2(0.0f, 0.0f);
    for (int i = threadIdx.x; i < k4; i += THREADS) {
        const float4 a = v4[i];
        var.x += (a.x - mean[0]) * (a.x - mean[0]) + (a.y - mean[0]) * (a.y - mean[0]) +
                 (a.z - mean[0]) * (a.z - mean[0]) + (a.w - mean[0]) * (a.w - mean[0]);
        if (M > 1) {
            const float4 c = v4[k4 + i];
            var.y += (c.x - mean[1]) * (c.x - mean[1]) + (c.y - mean[1]) * (c.y - mean[1]) +
                     (c.z - mean[1]) * (c.z - mean[1]) + (c.w - mean[1]) * (c.w - mean[1]);
        }
    }
    var = block_sum2(var, red);
    const float inv[2] = { 1.0f / sqrtf(var.x / (float)k + 1e-5f),
                           1.0f / sqrtf(var.y / (float)k + 1e-5f) };
    for (int j = 0; threadIdx.x + j * THREADS < k4; j++) {
        const int i = threadIdx.x + j * THREADS;
        float4 ww, bb;
        if (j < 2) {
            ww = lw[j & 1];
            bb = lb[j & 1];
        } else {
            ww = __ldg(reinterpret_cast<const float4 *>(w) + i);
            bb = __ldg(reinterpret_cast<const float4 *>(b) + i);
        }
#pragma unroll
        for (int m = 0; m < M; m++) {
            float4 a = v4[m * k4 + i];
            a.x = (a.x - mean[m]) * inv[m] * ww.x + bb.x;
            a.y = (a.y - mean[m]) * inv[m] * ww.y + bb.y;
            a.z = (a.z - mean[m]) * inv[m] * ww.z + bb.z;
            a.w = (a.w - mean[m]) * inv[m] * ww.w + bb.w;
            v4[m * k4 + i] = a;
        }
    }
    __syncthreads();
}

/* x of one phase into shared memory: through the natural copy when a LayerNorm or softmax comes
 * first, then as the weights meet it - floats laid out so that the E inputs one 16-byte weight
 * load meets are E / 4 float4s k / E apart (lane l reads float4 l of each part: no bank
 * conflicts), or int8 in groups of 16. */
template <int M>
__device__ void prepare_x(const dgxm_persist_phase &p, int per_load, float *xs, float *natural,
                          unsigned char *xq, float *xscale, float *red)
{
    const int k = p.k, k4 = k / 4;
    const float4 *src = reinterpret_cast<const float4 *>(p.x);
    const bool staged = p.ln_w || p.softmax_group > 0;
    if (staged) {
        float4 lw[2], lb[2];
        if (p.ln_w) /* issued before x: its round trip overlaps x's */
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int i = threadIdx.x + j * THREADS;
                lw[j] = i < k4 ? __ldg(reinterpret_cast<const float4 *>(p.ln_w) + i)
                               : make_float4(0, 0, 0, 0);
                lb[j] = i < k4 ? __ldg(reinterpret_cast<const float4 *>(p.ln_b) + i)
                               : make_float4(0, 0, 0, 0);
            }
        for (int i = threadIdx.x; i < M * k4; i += THREADS)
            reinterpret_cast<float4 *>(natural)[i] = __ldcg(src + i);
        __syncthreads();
        if (p.ln_w)
            norm_rows<M>(natural, k, lw, lb, p.ln_w, p.ln_b, red);
        if (M == 1 && p.softmax_group > 0)
            softmax_groups_shared(natural, k, p.softmax_group, p.softmax_valid);
        src = reinterpret_cast<const float4 *>(natural);
    }
    if (p.format == DGXM_WEIGHT_INT8) {
        if (!staged) { /* quantize_groups16 reads through L1: stage x in the float area */
            for (int i = threadIdx.x; i < M * k4; i += THREADS)
                reinterpret_cast<float4 *>(xs)[i] = __ldcg(src + i);
            __syncthreads();
        }
        quantize_groups16(staged ? natural : xs, M * k, xq, xscale);
    } else {
        const int parts = per_load / 4, chunks = k / per_load;
        float4 *dst = reinterpret_cast<float4 *>(xs);
        for (int i = threadIdx.x; i < M * k4; i += THREADS) {
            const int m = i / k4, j = i % k4;
            dst[m * k4 + (j % parts) * chunks + j / parts] = staged ? src[i] : __ldcg(src + i);
        }
    }
    __syncthreads();
}

/* acc[j][m] += row j of rr (at most UNIT_ROWS) consecutive rows at w, each L loads from load
 * col of the whole row on, . batch row m of x: one warp, lane l taking loads l, l + 32, ...;
 * a value of x read from shared memory serves every row. */
template <int FMT, int M>
__device__ __forceinline__ void rows_dot(const uint4 *w, int L, int col, int rr, int k,
                                         const float *xs, const unsigned char *xq,
                                         const float *xscale, float (&acc)[UNIT_ROWS][M])
{
    using Wt = weights<FMT>;
    constexpr int E = Wt::per_load;
    const int lane = threadIdx.x & 31, per_row = k / E;
    const float4 *xv = reinterpret_cast<const float4 *>(xs);
#pragma unroll 2
    for (int l = lane; l < L; l += 32) {
        const int c = col + l; /* the load's index in the whole row */
        if constexpr (FMT == DGXM_WEIGHT_INT8) {
            uint4 q4[M];
            float qs[M];
#pragma unroll
            for (int m = 0; m < M; m++) {
                q4[m] = reinterpret_cast<const uint4 *>(xq + m * k)[c];
                qs[m] = xscale[m * per_row + c];
            }
#pragma unroll
            for (int j = 0; j < UNIT_ROWS; j++) {
                if (j >= rr)
                    break;
                dot_load_int8<M>(w[j * L + l], q4, qs, acc[j]);
            }
        } else {
            float4 x4[M][E / 4]; /* read once, used by every row */
#pragma unroll
            for (int m = 0; m < M; m++)
#pragma unroll
                for (int q = 0; q < E / 4; q++)
                    x4[m][q] = xv[m * (k / 4) + q * per_row + c];
#pragma unroll
            for (int j = 0; j < UNIT_ROWS; j++) {
                if (j >= rr)
                    break;
                dot_load<FMT, M>(w[j * L + l], x4, acc[j]);
            }
        }
    }
}

/* Segment and feature of row r of a phase's run. */
__device__ __forceinline__ int2 locate(const dgxm_persist_phase &p, int r)
{
    int s = 0;
    while (s < p.segments - 1 && r >= p.seg[s].features)
        r -= p.seg[s++].features;
    return make_int2(s, r);
}

/* What the phase's consumers need of global memory before its first store, fetched while x is:
 * each output's current value (residual adds) and, with int8, each row's scale. */
template <int M>
__device__ void prefetch_outputs(const dgxm_persist_phase &p, int2 run, float *resid, int pos,
                                 bool scaled, float (&pre)[2], float (&sc)[2])
{
    const int n = (run.y - run.x) * M;
#pragma unroll
    for (int j = 0; j < 2; j++) {
        const int t = threadIdx.x + j * THREADS;
        pre[j] = 0.0f;
        sc[j] = 1.0f;
        if (t >= n)
            continue;
        const int2 sf = locate(p, run.x + t / M);
        const dgxm_gemv_segment &sg = p.seg[sf.x];
        if (sg.mode == DGXM_GEMV_ACCUM && !sg.out_half)
            pre[j] = __ldcg(static_cast<const float *>(sg.out) + (long long)pos * sg.pos_stride +
                            (long long)(t % M) * sg.row_stride + sf.y);
        if (scaled)
            sc[j] = __ldg(sg.scales + sf.y);
    }
    (void)resid;
}

/* Output (row of the run, batch row m) = y: the int8 scale, then the segment's consumer (cache
 * row, residual add with the prefetched value, GELU). */
__device__ __forceinline__ void store(const dgxm_gemv_segment &sg, int feature, int m, float y,
                                      float scale, float old, int pos)
{
    y *= scale;
    const long long at = (long long)pos * sg.pos_stride + (long long)m * sg.row_stride + feature;
    if (sg.out_half) {
        static_cast<__half *>(sg.out)[at] = __float2half_rn(y);
        return;
    }
    float *out = static_cast<float *>(sg.out) + at;
    switch (sg.mode) {
    case DGXM_GEMV_STORE: __stcg(out, y); break;
    case DGXM_GEMV_ACCUM: __stcg(out, old + y); break;
    case DGXM_GEMV_GELU: __stcg(out, gelu(y)); break;
    }
}

/* One GEMV phase (its descriptor p in shared memory): the block's run of rows, chunk by chunk
 * as they land in the ring. Warp w owns the run's rows [w n / WARPS, (w + 1) n / WARPS): it sums
 * each of them whole (across the pieces of a row longer than a slot too) in a fixed order and
 * stores it, so no warp waits for another within the phase and the results do not depend on
 * timing. */
template <int FMT, int M>
__device__ void gemv_run(const dgxm_persist_args &a, const dgxm_persist_phase &p, stream &st,
                         unsigned char *smem, block_shared &sh, int pos, int phase)
{
    constexpr int E = weights<FMT>::per_load;
    float *xs = reinterpret_cast<float *>(smem + a.layout.xs);
    float *natural = reinterpret_cast<float *>(smem + a.layout.natural);
    unsigned char *xq = smem + a.layout.xq;
    float *xscale = reinterpret_cast<float *>(smem + a.layout.xscale);
    float *resid = reinterpret_cast<float *>(smem + a.layout.resid); /* [run][M], then scales */
    const int2 run = block_rows(phase_features(p), blockIdx.x, gridDim.x);
    const int n = (run.y - run.x) * M;
    float pre[2], sc[2];
    prefetch_outputs<M>(p, run, resid, pos, FMT == DGXM_WEIGHT_INT8, pre, sc);
    prepare_x<M>(p, E, xs, natural, xq, xscale, sh.red);
    if (n == 0)
        return; /* a block without rows has no chunks in this phase */
#pragma unroll
    for (int j = 0; j < 2; j++) {
        const int t = threadIdx.x + j * THREADS;
        if (t < n)
            resid[t] = pre[j], resid[a.layout.run_max * M + t] = sc[j];
    }
    __syncthreads(); /* resid */
    stamp(a.timeline, phase, 2);
    const int k = p.k, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rows = run.y - run.x;
    const int lo = warp * rows / WARPS, hi = (warp + 1) * rows / WARPS;
    float acc[UNIT_ROWS][M] = {};
    for (int first = 0, seen = 0;; seen++) { /* first: the chunk's first row in the run */
        const int slot = next_chunk(st, sh);
        if (seen == 0)
            stamp(a.timeline, phase, 3);
        const dgxm_persist_chunk ch = sh.table[st.used % TABLE];
        const int nr = ch.rows & 63, L = ch.loads;
        const bool row_end = ch.rows & 64, last = ch.rows & 128;
        const uint4 *w = reinterpret_cast<const uint4 *>(st.ring + (size_t)slot * st.slot_bytes);
        const int to = min(hi, first + nr);
        for (int r0 = max(lo, first); r0 < to; r0 += UNIT_ROWS) {
            const int rr = min(UNIT_ROWS, to - r0);
            if (ch.col == 0) /* a row's first piece */
#pragma unroll
                for (int j = 0; j < UNIT_ROWS; j++)
#pragma unroll
                    for (int m = 0; m < M; m++)
                        acc[j][m] = 0.0f;
            if (a.probe != DGXM_PERSIST_PROBE_NO_DOT)
                rows_dot<FMT, M>(w + (r0 - first) * L, L, ch.col, rr, k, xs, xq, xscale, acc);
            if (!row_end)
                continue;
            /* every lane holds every sum; lane j * M + m stores row j, batch row m */
            float mine = 0.0f;
#pragma unroll
            for (int j = 0; j < UNIT_ROWS; j++) {
                if (j >= rr) /* rr is the same for the whole warp */
                    break;
#pragma unroll
                for (int m = 0; m < M; m++) {
                    const float v = dgxm_warp_sum(acc[j][m]);
                    if (lane == j * M + m)
                        mine = v;
                }
            }
            const int j = lane / M, m = lane % M;
            if (j < rr) {
                const int r = (r0 + j) * M + m; /* the run row's prefetched values */
                store(p.seg[ch.seg], ch.feature + (r0 - first) + j, m, mine,
                      resid[a.layout.run_max * M + r], resid[r], pos);
            }
        }
        pass_chunk(st, sh, slot);
        if (row_end)
            first += nr;
        if (last) {
            stamp(a.timeline, phase, 4);
            return;
        }
    }
}

template <int FMT, int ROWS>
__device__ void gemv_phase(const dgxm_persist_args &a, const dgxm_persist_phase &p, stream &st,
                           unsigned char *smem, block_shared &sh, int pos, int phase)
{
    /* layers in FMT; heads and folded matrices in FMT, or bf16 with int8 layers */
    const bool own = p.format == FMT;
    if (ROWS == 2 && p.rows == 2) {
        if (own)
            gemv_run<FMT, 2>(a, p, st, smem, sh, pos, phase);
        else
            gemv_run<DGXM_WEIGHT_BF16, 2>(a, p, st, smem, sh, pos, phase);
    } else {
        if (own)
            gemv_run<FMT, 1>(a, p, st, smem, sh, pos, phase);
        else
            gemv_run<DGXM_WEIGHT_BF16, 1>(a, p, st, smem, sh, pos, phase);
    }
}

/* Every (split, head, row) of one attention, blocks taking them in turn. */
template <typename T>
__device__ __forceinline__ void attention_phase(const dgxm_step_attention_args &a,
                                                attention_shared<WARPS> &sh)
{
    const int splits = (attention_length(a) + THREADS - 1) / THREADS;
    const int items = splits * a.heads * a.rows;
    for (int it = blockIdx.x; it < items; it += gridDim.x) {
        const int rest = it / splits;
        attention_split<T, WARPS, false>(a, it % splits, rest % a.heads, rest / a.heads, sh);
    }
}

/* x[r] = positions[position] + the sum of the previous column's embeddings, every row. */
__device__ void embed_phase(const dgxm_step_embed_args &e)
{
    const int step = e.counters->step, columns = e.counters->columns;
    const float *position = e.positions + (long long)e.counters->position * e.hidden;
    for (int i = blockIdx.x * THREADS + threadIdx.x; i < e.hidden; i += gridDim.x * THREADS) {
        float v = position[i];
        for (int c = 0; c < e.codebooks; c++)
            v += e.embed[c][(long long)e.grid[c * columns + step - 1] * e.hidden + i];
        for (int r = 0; r < e.rows; r++)
            __stcg(e.x + r * e.hidden + i, v);
    }
}

/* Warp 1 copies phase i's descriptor into shared memory (waited for before the phase's
 * barrier, so its round trip overlaps the phase before). */
__device__ __forceinline__ void fetch_desc(const dgxm_persist_args &a, int i, block_shared &sh)
{
    const int j = threadIdx.x - 32;
    if (i < a.phase_count && j >= 0 && j < DESC16) {
        copy16_async(reinterpret_cast<uint4 *>(&sh.desc[i & 1]) + j,
                     reinterpret_cast<const uint4 *>(&a.phases[i]) + j);
        async_commit();
    }
}

template <int FMT, int ROWS>
__global__ void __launch_bounds__(THREADS, 1) persistent_step_kernel(const dgxm_persist_args a)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    __trap(); /* no bulk copies: the host launches this only on sm_90 and later */
#endif
    extern __shared__ __align__(128) unsigned char smem[];
    __shared__ block_shared sh;

    unsigned sense = grid_sense(a.barrier);
    if (a.probe == DGXM_PERSIST_PROBE_BARRIERS) { /* the step's barriers and nothing else */
        for (int i = 0; i <= a.phase_count; i++)
            grid_sync(a.barrier, sense);
        return;
    }
    const int base = a.chunk_start[blockIdx.x];
    stream st = {};
    st.chunks = a.chunks + base;
    st.count = a.chunk_start[blockIdx.x + 1] - base;
    st.ring = smem;
    st.slot_bytes = a.layout.slot_bytes;
    st.slots = a.layout.slots;
    fetch_desc(a, 0, sh);
    if (threadIdx.x == 0) {
        for (int e = 0; e < AHEAD && e < st.count; e++)
            copy16_async(&sh.table[e], &st.chunks[e]);
        async_commit();
        async_wait<0>();
        for (int i = 0; i < a.layout.slots; i++) {
            slot_init(&sh.full[i], 1);
            slot_init(&sh.read[i], WARPS);
        }
        slot_init_fence();
        for (; st.next < a.layout.slots && st.next < st.count; st.next++) {
            const dgxm_persist_chunk &c = sh.table[st.next];
            slot_fill(st.ring + (size_t)st.next * st.slot_bytes, c.src, chunk_bytes(c),
                      &sh.full[st.next]);
        }
        /* top_up() fetches entry next - slots + AHEAD: entries up to AHEAD - 1 are here */
    }
    if (a.probe == DGXM_PERSIST_PROBE_STREAM) { /* every chunk through the ring, nothing else */
        __syncthreads();
        while (st.used < st.count)
            pass_chunk(st, sh, next_chunk(st, sh));
        if (threadIdx.x == 0)
            async_wait<0>();
        return;
    }
    const int pos = a.embed.counters->position;
    embed_phase(a.embed);
    for (int i = 0; i < a.phase_count; i++) {
        if (threadIdx.x >= 32 && threadIdx.x < 32 + DESC16)
            async_wait<0>(); /* this phase's descriptor, fetched a phase ago */
        grid_arrive(a.barrier);
        stamp(a.timeline, i, 0);
        /* every warp is done with the phase before: refill its slots before the barrier, not
         * once the next phase's x is in (measured: 1.2 -> 2.2 ms a step for musicgen-small) */
        if (threadIdx.x == 0)
            top_up(st, sh);
        grid_wait(a.barrier, sense);
        stamp(a.timeline, i, 1);
        fetch_desc(a, i + 1, sh);
        const dgxm_persist_phase &p = sh.desc[i & 1];
        if (p.kind == DGXM_PERSIST_GEMV) {
            gemv_phase<FMT, ROWS>(a, p, st, smem, sh, pos, i);
            continue;
        }
        if (a.probe == DGXM_PERSIST_PROBE_NO_ATTENTION)
            continue;
        dgxm_step_attention_args at =
            p.kind == DGXM_PERSIST_SELF_ATTENTION ? a.self_attn : a.cross_attn;
        if (p.kind == DGXM_PERSIST_SELF_ATTENTION) {
            at.k = p.k_cache;
            at.v = p.v_cache;
        } else {
            at.k = p.cross_k;
            at.v = p.cross_v;
        }
        if (at.kv_half)
            attention_phase<__half>(at, sh.att);
        else
            attention_phase<float>(at, sh.att);
    }
    if (a.timeline) { /* the end of the launch, once every warp is done */
        __syncthreads();
        stamp(a.timeline, a.phase_count, 0);
    }
    if (threadIdx.x == 0)
        async_wait<0>(); /* table entries fetched ahead land before the block exits */
}

typedef void (*persistent_kernel)(const dgxm_persist_args);

template <int ROWS> persistent_kernel pick_rows(dgxm_weight_format f)
{
    switch (f) {
    case DGXM_WEIGHT_F32: return persistent_step_kernel<DGXM_WEIGHT_F32, ROWS>;
    case DGXM_WEIGHT_BF16: return persistent_step_kernel<DGXM_WEIGHT_BF16, ROWS>;
    case DGXM_WEIGHT_F16: return persistent_step_kernel<DGXM_WEIGHT_F16, ROWS>;
    case DGXM_WEIGHT_INT8: return persistent_step_kernel<DGXM_WEIGHT_INT8, ROWS>;
    }
    return NULL;
}

persistent_kernel pick(dgxm_weight_format f, int rows)
{
    return rows == 1 ? pick_rows<1>(f) : rows == 2 ? pick_rows<2>(f) : NULL;
}

size_t align_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

} // namespace

dgxm_status dgxm_step_persistent_plan(dgxm_weight_format f, int rows, int k_max, int natural_floats,
                                      int features_max, const dgxm_cuda_info *info,
                                      dgxm_persist_layout *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    if (info->cc_major < 9)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "persistent step: needs bulk copies (sm_90 or later), %s is sm_%d%d",
                              info->name, info->cc_major, info->cc_minor);
    if (!info->cooperative_launch)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "persistent step: %s runs no cooperative launch", info->name);
    const persistent_kernel k = pick(f, rows);
    if (!k)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "persistent step: format %d, %d rows",
                              (int)f, rows);
    cudaFuncAttributes attr;
    cudaError_t e = cudaFuncGetAttributes(&attr, k);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "persistent step", "kernel attributes");
    size_t at = 0;
    out->xs = 0;
    at += (size_t)rows * k_max * sizeof(float);
    out->natural = (int)at;
    at += align_up((size_t)natural_floats * sizeof(float), 16);
    out->xq = (int)at;
    at += f == DGXM_WEIGHT_INT8 ? align_up((size_t)rows * k_max, 16) : 0;
    out->xscale = (int)at;
    at += f == DGXM_WEIGHT_INT8 ? align_up((size_t)rows * (k_max / 16) * sizeof(float), 16) : 0;
    out->resid = (int)at;
    out->run_max = (features_max + info->sm_count - 1) / info->sm_count + 1;
    if (out->run_max * rows > 2 * THREADS) /* prefetch_outputs holds two a thread */
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "persistent step: %d features over %d SMs of %s", features_max,
                              info->sm_count, info->name);
    at += align_up((size_t)out->run_max * rows * 2 * sizeof(float), 16);
    const size_t fixed = align_up(at, 128), limit = info->smem_per_block_optin;
    const size_t room =
        limit > fixed + attr.sharedSizeBytes ? limit - fixed - attr.sharedSizeBytes : 0;
    /* 16 KB slots where at least 4 fit, else 3 smaller ones (a device of little shared memory
     * also has little bandwidth per SM, so a shallow ring keeps it busy) */
    int slot = SLOT_BYTES, slots = (int)(room / SLOT_BYTES);
    if (slots < 4) {
        slot = (int)(room / 3) / 1024 * 1024;
        slots = 3;
    }
    if (slots > MAX_SLOTS)
        slots = MAX_SLOTS;
    if (slot < 2048)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "persistent step: %zu bytes of shared memory per block on %s, %zu "
                              "needed for inputs of %d",
                              limit, info->name, fixed + attr.sharedSizeBytes + 3 * 2048, k_max);
    const size_t ring = (size_t)slot * slots;
    out->slot_bytes = slot;
    out->slots = slots;
    out->xs += (int)ring;
    out->natural += (int)ring;
    out->xq += (int)ring;
    out->xscale += (int)ring;
    out->resid += (int)ring;
    out->smem = ring + fixed;
    e = cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)out->smem);
    int per_sm = 0;
    if (e == cudaSuccess)
        e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k, THREADS, out->smem);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "persistent step", "occupancy");
    if (per_sm < 1)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "persistent step: no block of %d threads and %zu bytes of shared "
                              "memory fits an SM of %s",
                              THREADS, out->smem, info->name);
    out->blocks = info->sm_count; /* one block per SM: more would only share its bandwidth */
    return DGXM_OK;
}

dgxm_status dgxm_step_persistent(dgxm_weight_format f, const dgxm_persist_args *a, cudaStream_t s,
                                 dgxm_error *err)
{
    const persistent_kernel k = pick(f, a->embed.rows);
    if (!k)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "persistent step: format %d, %d rows",
                              (int)f, a->embed.rows);
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3((unsigned)a->layout.blocks);
    cfg.blockDim = dim3(THREADS);
    cfg.dynamicSmemBytes = a->layout.smem;
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeCooperative; /* the barriers need every block resident */
    attr[0].val.cooperative = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    const dgxm_persist_args args = *a;
    const cudaError_t e = cudaLaunchKernelEx(&cfg, k, args);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "persistent step", "cooperative launch");
    return dgxm_cuda_launched(err, "persistent step");
}

dgxm_status dgxm_step_persistent_chunks(const dgxm_persist_phase *phases, int count,
                                        const dgxm_persist_layout *layout,
                                        dgxm_persist_chunk **chunks, int **start, dgxm_error *err)
{
    const int blocks = layout->blocks, slot = layout->slot_bytes;
    size_t cap = 1024, n = 0;
    dgxm_persist_chunk *out = static_cast<dgxm_persist_chunk *>(malloc(cap * sizeof *out));
    int *first = static_cast<int *>(malloc(((size_t)blocks + 1) * sizeof *first));
    if (!out || !first)
        goto nomem;
    for (int b = 0; b < blocks; b++) {
        first[b] = (int)n;
        for (int i = 0; i < count; i++) {
            const dgxm_persist_phase &p = phases[i];
            if (p.kind != DGXM_PERSIST_GEMV)
                continue;
            const int2 run = block_rows(phase_features(p), b, blocks);
            const int row_bytes = p.k * weight_bytes(p.format);
            for (int r = run.x; r < run.y;) {
                int s = 0, f = r;
                while (s < p.segments - 1 && f >= p.seg[s].features)
                    f -= p.seg[s++].features;
                if (p.seg[s].features > 65535 || row_bytes / 16 > 65535) {
                    free(out);
                    free(first);
                    return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                                          "persistent step: %d features of %d bytes",
                                          p.seg[s].features, row_bytes);
                }
                const char *row = static_cast<const char *>(p.seg[s].w) + (size_t)f * row_bytes;
                const int pieces = row_bytes <= slot ? 1 : (row_bytes + slot - 1) / slot;
                int rows = 1;
                if (pieces == 1) {
                    rows = slot / row_bytes < CHUNK_ROWS ? slot / row_bytes : CHUNK_ROWS;
                    rows = rows < run.y - r ? rows : run.y - r;
                    rows = rows < p.seg[s].features - f ? rows : p.seg[s].features - f;
                }
                for (int q = 0; q < pieces; q++) {
                    if (n == cap) {
                        cap *= 2;
                        void *grown = realloc(out, cap * sizeof *out);
                        if (!grown)
                            goto nomem;
                        out = static_cast<dgxm_persist_chunk *>(grown);
                    }
                    const int off = q * slot;
                    const int bytes =
                        pieces == 1 ? row_bytes : (row_bytes - off < slot ? row_bytes - off : slot);
                    dgxm_persist_chunk *c = &out[n++];
                    memset(c, 0, sizeof *c);
                    c->src = row + off;
                    c->feature = (unsigned short)f;
                    c->col = (unsigned short)(off / 16);
                    c->loads = (unsigned short)(bytes / 16);
                    c->rows = (unsigned char)(rows | (q == pieces - 1 ? 64 : 0));
                    c->seg = (unsigned char)s;
                }
                r += rows;
                if (r >= run.y)
                    out[n - 1].rows |= 128;
            }
        }
    }
    first[blocks] = (int)n;
    *chunks = out;
    *start = first;
    return DGXM_OK;
nomem:
    free(out);
    free(first);
    return dgxm_error_set(err, DGXM_ERR_NOMEM, "persistent step: out of memory for chunk tables");
}
