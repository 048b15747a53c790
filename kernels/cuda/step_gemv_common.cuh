/* Device helpers shared by the decode step's GEMV kernels (step_gemv.cu, one launch per matrix,
 * and step_persistent.cu, the whole stack in one kernel): widening a 16-byte weight load of each
 * format to floats, the streaming load, GELU, and the LayerNorm of a block's shared copy of x.
 * Included by .cu files only (no relocatable device code across files). */
#ifndef DGXM_CUDA_STEP_GEMV_COMMON_CUH
#define DGXM_CUDA_STEP_GEMV_COMMON_CUH

#include "step_internal.h"

namespace dgxm_step
{

template <int FMT> struct weights;

template <> struct weights<DGXM_WEIGHT_F32> {
    static constexpr int per_load = 4;
    static __device__ __forceinline__ void expand(uint4 v, float *f)
    {
        f[0] = __uint_as_float(v.x), f[1] = __uint_as_float(v.y);
        f[2] = __uint_as_float(v.z), f[3] = __uint_as_float(v.w);
    }
};

template <> struct weights<DGXM_WEIGHT_BF16> {
    static constexpr int per_load = 8;
    static __device__ __forceinline__ void expand(uint4 v, float *f)
    {
        const unsigned int u[4] = { v.x, v.y, v.z, v.w };
#pragma unroll
        for (int i = 0; i < 4; i++) {
            f[2 * i] = __uint_as_float(u[i] << 16);
            f[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
        }
    }
};

template <> struct weights<DGXM_WEIGHT_F16> {
    static constexpr int per_load = 8;
    static __device__ __forceinline__ void expand(uint4 v, float *f)
    {
        const unsigned int u[4] = { v.x, v.y, v.z, v.w };
#pragma unroll
        for (int i = 0; i < 4; i++) {
            __half2 h = *reinterpret_cast<const __half2 *>(&u[i]);
            float2 p = __half22float2(h);
            f[2 * i] = p.x, f[2 * i + 1] = p.y;
        }
    }
};

/* int8 rows: the per-feature scale is applied once after the dot product. */
template <> struct weights<DGXM_WEIGHT_INT8> {
    static constexpr int per_load = 16;
    static __device__ __forceinline__ void expand(uint4 v, float *f)
    {
        const unsigned int u[4] = { v.x, v.y, v.z, v.w };
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++)
                f[4 * i + j] = (float)(signed char)(u[i] >> (8 * j));
    }
};

__device__ __forceinline__ uint4 stream_load(const uint4 *p)
{
    return __ldcs(p); /* read once per step: do not keep it in L1 */
}

__device__ __forceinline__ float gelu(float y)
{
    return 0.5f * y * (1.0f + erff(y * 0.70710678118654752f));
}

/* Sums of N values over the block (every thread gets them), each summed in the same fixed
 * order. red holds 32 N floats. */
template <int N> __device__ __forceinline__ void block_sums(float (&v)[N], float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
    for (int i = 0; i < N; i++)
        v[i] = dgxm_warp_sum(v[i]);
    if (lane == 0)
#pragma unroll
        for (int i = 0; i < N; i++)
            red[32 * i + warp] = v[i];
    __syncthreads();
#pragma unroll
    for (int i = 0; i < N; i++)
        v[i] = dgxm_warp_sum(lane < warps ? red[32 * i + lane] : 0.0f);
    __syncthreads();
}

/* Sum of a pair over the block: both batch rows' statistics in one reduction. red holds 64
 * floats. */
__device__ __forceinline__ float2 block_sum2(float2 v, float *red)
{
    float s[2] = { v.x, v.y };
    block_sums<2>(s, red);
    return make_float2(s[0], s[1]);
}

/* Each row's mean and 1 / deviation from the block's per-thread sums = { s0, q0, s1, q1 } of
 * x - shift and of its square (layer_norm_shared says why shifted). The reduction's barriers also
 * publish what the block stored into shared memory before it. */
__device__ __forceinline__ void layer_norm_stats(float (&sums)[4], float *red, int k, float shift0,
                                                 float shift1, float (&mean)[2], float (&inv)[2])
{
    block_sums<4>(sums, red);
    const float n = (float)k;
    const float m0 = sums[0] / n, m1 = sums[2] / n; /* means of the shifted rows */
    const float var0 = fmaxf(sums[1] / n - m0 * m0, 0.0f),
                var1 = fmaxf(sums[3] / n - m1 * m1, 0.0f);
    mean[0] = shift0 + m0, mean[1] = shift1 + m1;
    inv[0] = 1.0f / sqrtf(var0 + 1e-5f), inv[1] = 1.0f / sqrtf(var1 + 1e-5f);
}

/* The second half of layer_norm_shared, for a caller that took the per-thread sums itself. */
template <int M>
__device__ __forceinline__ void layer_norm_finish(float *xs, int k, const float *w, const float *b,
                                                  float *red, float (&sums)[4], float shift0,
                                                  float shift1)
{
    float mean[2], inv[2];
    layer_norm_stats(sums, red, k, shift0, shift1, mean, inv);
    for (int i = threadIdx.x; i < k; i += blockDim.x) {
        xs[i] = (xs[i] - mean[0]) * inv[0] * w[i] + b[i];
        if (M > 1)
            xs[k + i] = (xs[k + i] - mean[1]) * inv[1] * w[i] + b[i];
    }
    __syncthreads();
}

/* Normalises the block's copy of x in place (biased variance, eps 1e-5, as the CPU oracle); the
 * rows share each reduction. One pass for both statistics: sums of x - x[0] and of its square,
 * shifted by the row's first value so that a mean far from zero costs no precision: a shift d
 * deviations from the mean costs a factor of about 1 + d^2 in the variance's relative error, and
 * one value of the row is rarely more than a few deviations out. */
template <int M>
__device__ void layer_norm_shared(float *xs, int k, const float *w, const float *b, float *red)
{
    const float shift0 = xs[0], shift1 = M > 1 ? xs[k] : 0.0f;
    float s0 = 0.0f, q0 = 0.0f, s1 = 0.0f, q1 = 0.0f;
    for (int i = threadIdx.x; i < k; i += blockDim.x) {
        const float d0 = xs[i] - shift0;
        s0 += d0, q0 += d0 * d0;
        if (M > 1) {
            const float d1 = xs[k + i] - shift1;
            s1 += d1, q1 += d1 * d1;
        }
    }
    float sums[4] = { s0, q0, s1, q1 };
    /* every thread read xs[0] and xs[k] before the reduction's barriers, so they may change */
    layer_norm_finish<M>(xs, k, w, b, red, sums, shift0, shift1);
}

/* Each group of the block's x (one row of k) becomes the softmax of its first `valid` entries,
 * zero after them: a warp per group. */
__device__ __forceinline__ void softmax_groups_shared(float *xs, int k, int group, int valid)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int g = warp; g < k / group; g += warps) {
        float *v = xs + g * group;
        float m = -INFINITY;
        for (int i = lane; i < valid; i += 32)
            m = fmaxf(m, v[i]);
        m = dgxm_warp_max(m);
        float sum = 0.0f;
        for (int i = lane; i < valid; i += 32) {
            const float e = expf(v[i] - m);
            v[i] = e;
            sum += e;
        }
        const float inv = 1.0f / dgxm_warp_sum(sum);
        for (int i = lane; i < group; i += 32)
            v[i] = i < valid ? v[i] * inv : 0.0f;
    }
    __syncthreads();
}

/* f * inv rounded to int8, packed little-endian into a word. */
__device__ __forceinline__ unsigned int pack_int8x4(float4 f, float inv)
{
    const unsigned int b0 = (unsigned char)(signed char)__float2int_rn(f.x * inv);
    const unsigned int b1 = (unsigned char)(signed char)__float2int_rn(f.y * inv);
    const unsigned int b2 = (unsigned char)(signed char)__float2int_rn(f.z * inv);
    const unsigned int b3 = (unsigned char)(signed char)__float2int_rn(f.w * inv);
    return b0 | b1 << 8 | b2 << 16 | b3 << 24;
}

/* Four float16 values (8 bytes) as floats. */
__device__ __forceinline__ float4 half4_to_float4(uint2 v)
{
    const float2 lo = __half22float2(*reinterpret_cast<const __half2 *>(&v.x));
    const float2 hi = __half22float2(*reinterpret_cast<const __half2 *>(&v.y));
    return make_float4(lo.x, lo.y, hi.x, hi.y);
}

/* Float4 i of a run of groups of 16 (four neighbouring lanes hold a group) to int8 with the
 * group's scale max|x| / 127. Every lane of the warp calls it (the max is shuffled among the
 * quad); `active` false: the lane takes part with zeros and stores nothing. The same bytes and
 * scales as quantize_groups16; four lanes a group read consecutive float4s, so the fused forms
 * (dgxm_gemv_args.quantise_fused) that use it take a quarter of its serial work. */
__device__ __forceinline__ void quantize_quad(float4 f, bool active, int i, unsigned char *q,
                                              float *scale)
{
    float amax = fmaxf(fmaxf(fabsf(f.x), fabsf(f.y)), fmaxf(fabsf(f.z), fabsf(f.w)));
    amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
    amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
    if (!active)
        return;
    reinterpret_cast<unsigned int *>(q)[i] = pack_int8x4(f, amax > 0.0f ? 127.0f / amax : 0.0f);
    if ((i & 3) == 0)
        scale[i >> 2] = amax / 127.0f;
}

/* n floats (a multiple of 16) as int8 in groups of 16, each scaled by its largest magnitude
 * over 127 (round to nearest; an all-zero group gets scale 0). A thread per group. */
__device__ __forceinline__ void quantize_groups16(const float *x, int n, unsigned char *q,
                                                  float *scale)
{
    for (int g = threadIdx.x; g < n / 16; g += blockDim.x) {
        const float4 *v = reinterpret_cast<const float4 *>(x + g * 16);
        float4 f[4];
        float amax = 0.0f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            f[i] = v[i];
            amax = fmaxf(amax, fmaxf(fmaxf(fabsf(f[i].x), fabsf(f[i].y)),
                                     fmaxf(fabsf(f[i].z), fabsf(f[i].w))));
        }
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        unsigned int w[4];
#pragma unroll
        for (int i = 0; i < 4; i++)
            w[i] = pack_int8x4(f[i], inv);
        reinterpret_cast<uint4 *>(q)[g] = make_uint4(w[0], w[1], w[2], w[3]);
        scale[g] = amax / 127.0f;
    }
}

/* layer_norm_finish for int8 weights: the normalised rows go straight to their int8 groups
 * (quantize_groups16's) and xs keeps x as it came, a pass and a barrier fewer; the values
 * quantised are the same bits layer_norm_finish would store. */
template <int M>
__device__ __forceinline__ void
layer_norm_quantize(const float *xs, int k, const float *w, const float *b, float *red,
                    float (&sums)[4], float shift0, float shift1, unsigned char *q, float *scale)
{
    float mean[2], inv[2];
    layer_norm_stats(sums, red, k, shift0, shift1, mean, inv);
    const int k4 = k / 4, n4 = M * k4;
    for (int base = 0; base < n4; base += blockDim.x) {
        const int i = base + threadIdx.x;
        const bool active = i < n4;
        float4 f = make_float4(0, 0, 0, 0);
        if (active) {
            const int row = i / k4, c = (i - row * k4) * 4;
            const float mr = mean[row], ir = inv[row];
            const float4 v = reinterpret_cast<const float4 *>(xs)[i];
            f.x = (v.x - mr) * ir * w[c] + b[c];
            f.y = (v.y - mr) * ir * w[c + 1] + b[c + 1];
            f.z = (v.z - mr) * ir * w[c + 2] + b[c + 2];
            f.w = (v.w - mr) * ir * w[c + 3] + b[c + 3];
        }
        quantize_quad(f, active, i, q, scale);
    }
    __syncthreads();
}

/* The dot product of 16 int8 weights with 16 int8 inputs. */
__device__ __forceinline__ int dot16_int8(uint4 w, uint4 x)
{
    int a = __dp4a((int)w.x, (int)x.x, 0);
    a = __dp4a((int)w.y, (int)x.y, a);
    a = __dp4a((int)w.z, (int)x.z, a);
    return __dp4a((int)w.w, (int)x.w, a);
}

/* acc[m] += one 16-byte load of weights . batch row m's inputs for it (x4[m], E / 4 float4s):
 * the inner step of the graph's GEMV and of the persistent step, one sum order for both. */
template <int FMT, int M>
__device__ __forceinline__ void dot_load(uint4 w, const float4 (&x4)[M][weights<FMT>::per_load / 4],
                                         float (&acc)[M])
{
    constexpr int E = weights<FMT>::per_load;
    float f[E]; /* widened once, used by every batch row */
    weights<FMT>::expand(w, f);
#pragma unroll
    for (int m = 0; m < M; m++)
#pragma unroll
        for (int q = 0; q < E / 4; q++)
            acc[m] += f[4 * q] * x4[m][q].x + f[4 * q + 1] * x4[m][q].y +
                      f[4 * q + 2] * x4[m][q].z + f[4 * q + 3] * x4[m][q].w;
}

/* acc[m] += one 16-byte load of int8 weights . batch row m's int8 inputs q4[m] (scale qs[m]). */
template <int M>
__device__ __forceinline__ void dot_load_int8(uint4 w, const uint4 (&q4)[M], const float (&qs)[M],
                                              float (&acc)[M])
{
#pragma unroll
    for (int m = 0; m < M; m++)
        acc[m] += (float)dot16_int8(w, q4[m]) * qs[m];
}

} // namespace dgxm_step

#endif
