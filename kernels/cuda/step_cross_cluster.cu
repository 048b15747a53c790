/* The folded cross-attention of one layer (step_cross_fold.cu) in one launch: a single thread
 * block cluster (sm_90 and later) computes the conditioned row's
 *   x += B . softmax_heads(A . LayerNorm(x))
 * where the graph would otherwise run two GEMVs, [LayerNorm + scores] and [softmax + folded O
 * + residual], and pay a kernel boundary between them.
 *
 * Why one cluster: both matrices are small (musicgen-large with a 12-token prompt: 384 x 2048
 * each), so their bandwidth is not what costs; the boundary is. Block r of C owns rows
 * [r R / C, (r + 1) R / C) of A and output features [r H / C, (r + 1) H / C) of B, and bulk
 * copies both slices into its shared memory before it waits for the kernel before (they are
 * constants of the generation), so the weights are in place when x is. Each block pushes its
 * scores into every block's shared memory (distributed shared memory), one cluster barrier
 * makes them visible, and every block then has all R scores for the softmax without a round
 * trip through L2. The kernel uses C SMs; the next kernel's blocks start on the others.
 *
 * A and B are in the compact layout of this kernel: A [heads * lt][hidden] (no padded text
 * positions), B [hidden][cols], cols = heads * lt rounded up to 8 (zero columns past it). */
#include "step_bulk_copy.cuh"
#include "step_gemv_common.cuh"

#include <cooperative_groups.h>

namespace
{

using namespace dgxm_step;
namespace cg = cooperative_groups;

constexpr int WARPS = 8;
constexpr int THREADS = WARPS * 32;
[[maybe_unused]] constexpr int GROUP = 16; /* lanes per output feature: a row of B is 24-48 loads */

__host__ __device__ inline int esize(int format)
{
    return format == DGXM_WEIGHT_F32 ? 4 : 2;
}

/* Shared memory of one block: its mbarrier, the A and B slices (the largest any rank gets), x,
 * the residual's old values of its features and the scores. */
struct cross_layout {
    size_t a, b, x, prior, scores, bytes;
};

__host__ __device__ inline cross_layout layout_for(const dgxm_cross_cluster_args &p)
{
    const int rows = p.heads * p.lt;
    const size_t e = (size_t)esize(p.format);
    const size_t rows_max = (size_t)(rows + p.cluster - 1) / p.cluster;
    const size_t features_max = (size_t)(p.hidden + p.cluster - 1) / p.cluster;
    cross_layout l;
    l.a = 16;
    l.b = l.a + rows_max * p.hidden * e;
    l.x = l.b + features_max * p.cols * e;
    l.prior = l.x + (size_t)p.hidden * sizeof(float);
    l.scores = l.prior + (features_max + 3) / 4 * 4 * sizeof(float);
    l.bytes = l.scores + (size_t)p.cols * sizeof(float);
    return l;
}

/* The cluster barrier in two halves: a block may only write another block's shared memory
 * once that block has started, so every block arrives first thing and waits just before its
 * first push, with the bulk copies and the LayerNorm in between. */
[[maybe_unused]] __device__ __forceinline__ void cluster_arrive_relaxed(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
#endif
}

[[maybe_unused]] __device__ __forceinline__ void cluster_wait(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("barrier.cluster.wait.aligned;" ::: "memory");
#endif
}

/* The dot product of a row in shared memory with v (floats, shared memory), over `loads`
 * 16-byte loads starting at lane `first` with stride `step`: this lane's share. */
template <int FMT>
__device__ __forceinline__ float row_dot(const uint4 *row, const float *v, int loads, int first,
                                         int step)
{
    constexpr int E = weights<FMT>::per_load;
    float acc[1] = { 0.0f };
    for (int c = first; c < loads; c += step) {
        float4 x4[1][E / 4];
#pragma unroll
        for (int q = 0; q < E / 4; q++)
            x4[0][q] = reinterpret_cast<const float4 *>(v + c * E)[q];
        dot_load<FMT, 1>(row[c], x4, acc);
    }
    return acc[0];
}

template <int FMT>
__global__ void __launch_bounds__(THREADS) cross_cluster_kernel(const dgxm_cross_cluster_args p)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    extern __shared__ __align__(16) unsigned char smem[];
    __shared__ float red[128];
    constexpr int E = weights<FMT>::per_load;
    const cross_layout l = layout_for(p);
    unsigned long long *bar = reinterpret_cast<unsigned long long *>(smem);
    const uint4 *wa = reinterpret_cast<const uint4 *>(smem + l.a);
    const uint4 *wb = reinterpret_cast<const uint4 *>(smem + l.b);
    float *xs = reinterpret_cast<float *>(smem + l.x);
    float *prior = reinterpret_cast<float *>(smem + l.prior);
    float *scores = reinterpret_cast<float *>(smem + l.scores);
    cg::cluster_group cluster = cg::this_cluster();
    const int C = (int)cluster.num_blocks(), rank = (int)cluster.block_rank();
    const int rows = p.heads * p.lt, h = p.hidden;
    const int r0 = rank * rows / C, r1 = (rank + 1) * rows / C;
    const int f0 = (int)((long long)rank * h / C), f1 = (int)((long long)(rank + 1) * h / C);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const size_t e = (size_t)esize(FMT);
    const int copies = (r1 > r0) + (f1 > f0);
    cluster_arrive_relaxed();

    if (threadIdx.x == 0 && copies) {
        slot_init(bar, (unsigned)copies);
        slot_init_fence();
        if (r1 > r0)
            slot_fill(smem + l.a, static_cast<const char *>(p.a) + (size_t)r0 * h * e,
                      (unsigned)((size_t)(r1 - r0) * h * e), bar);
        if (f1 > f0)
            slot_fill(smem + l.b, static_cast<const char *>(p.b) + (size_t)f0 * p.cols * e,
                      (unsigned)((size_t)(f1 - f0) * p.cols * e), bar);
    }
    /* the padding scores are this block's own: nobody pushes them */
    for (int i = rows + threadIdx.x; i < p.cols; i += THREADS)
        scores[i] = 0.0f;
    dgxm_pdl_trigger();
    dgxm_pdl_wait(); /* x is the kernel before's output */

    const float4 *x4 = reinterpret_cast<const float4 *>(p.x);
    for (int i = threadIdx.x; i < h / 4; i += THREADS)
        reinterpret_cast<float4 *>(xs)[i] = __ldcg(x4 + i);
    __syncthreads();
    for (int i = threadIdx.x; i < f1 - f0; i += THREADS)
        prior[i] = xs[f0 + i];
    layer_norm_shared<1>(xs, h, p.ln_w, p.ln_b, red);
    if (copies)
        slot_wait(bar, 0);

    /* scores: a warp per row of the block's A slice, pushed to every block of the cluster */
    const int a_loads = h / E;
    cluster_wait();
    for (int r = r0 + warp; r < r1; r += WARPS) {
        const float s = dgxm_warp_sum(row_dot<FMT>(wa + (size_t)(r - r0) * a_loads, xs, a_loads,
                                                   lane, 32));
        if (lane < C)
            cluster.map_shared_rank(scores, lane)[r] = s;
    }
    cluster.sync(); /* every block's pushes landed; none touches another block's memory after */
    softmax_groups_shared(scores, rows, p.lt, p.lt);

    /* out: GROUP lanes per feature of the block's B slice; the loop is uniform over the warp so
     * that the group sums' shuffles see every lane */
    const int b_loads = p.cols / E, features = f1 - f0, half = lane / GROUP, gl = lane % GROUP;
    for (int base = warp * (32 / GROUP); base < features; base += WARPS * (32 / GROUP)) {
        const int fi = base + half;
        float y = fi < features
                      ? row_dot<FMT>(wb + (size_t)fi * b_loads, scores, b_loads, gl, GROUP)
                      : 0.0f;
#pragma unroll
        for (int o = GROUP / 2; o > 0; o >>= 1)
            y += __shfl_xor_sync(0xffffffffu, y, o);
        if (fi < features && gl == 0)
            p.x[f0 + fi] = prior[fi] + y;
    }
#endif
}

template <int FMT> void *kernel_of()
{
    return reinterpret_cast<void *>(cross_cluster_kernel<FMT>);
}

void *kernel_for(int format)
{
    switch (format) {
    case DGXM_WEIGHT_F32: return kernel_of<DGXM_WEIGHT_F32>();
    case DGXM_WEIGHT_BF16: return kernel_of<DGXM_WEIGHT_BF16>();
    case DGXM_WEIGHT_F16: return kernel_of<DGXM_WEIGHT_F16>();
    default: return NULL;
    }
}

cudaLaunchConfig_t config_for(const dgxm_cross_cluster_args &p, size_t smem, cudaStream_t s,
                              cudaLaunchAttribute *attr, bool pdl)
{
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3((unsigned)p.cluster);
    cfg.blockDim = dim3(THREADS);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = (unsigned)p.cluster;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    attr[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[1].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = pdl ? 2 : 1;
    return cfg;
}

} // namespace

int dgxm_step_cross_cluster_plan(dgxm_cross_cluster_args *p, const dgxm_cuda_info *info)
{
    void *kernel = kernel_for(p->format);
    if (!kernel || info->cc_major < 9 || p->heads < 1 || p->lt < 1 || p->hidden % 8 ||
        p->cols % 8)
        return 0;
    const size_t optin = info->smem_per_block_optin;
    /* the widest cluster first: fewer bytes per SM, and a wide one is what makes it pay */
    static const int widths[] = { 16, 8 };
    for (int w : widths) {
        p->cluster = w;
        const size_t smem = layout_for(*p).bytes;
        if (smem + sizeof(float) * 128 > optin)
            continue;
        if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 (int)smem) != cudaSuccess ||
            (w > 8 && cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed,
                                           1) != cudaSuccess)) {
            cudaGetLastError();
            continue;
        }
        cudaLaunchAttribute attr[2];
        cudaLaunchConfig_t cfg = config_for(*p, smem, 0, attr, false);
        int clusters = 0;
        if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg) != cudaSuccess) {
            cudaGetLastError();
            continue;
        }
        if (clusters >= 1)
            return w;
    }
    p->cluster = 0;
    return 0;
}

dgxm_status dgxm_step_cross_cluster(const dgxm_cross_cluster_args *p, cudaStream_t s, bool pdl,
                                    dgxm_error *err)
{
    void *kernel = kernel_for(p->format);
    if (!kernel || p->cluster < 1)
        return dgxm_error_set(err, DGXM_ERR_BACKEND, "cross-attention cluster: no plan");
    cudaLaunchAttribute attr[2];
    const cudaLaunchConfig_t cfg = config_for(*p, layout_for(*p).bytes, s, attr, pdl);
    const dgxm_cross_cluster_args args = *p;
    void *params[] = { const_cast<dgxm_cross_cluster_args *>(&args) };
    const cudaError_t e = cudaLaunchKernelExC(&cfg, kernel, params);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention cluster", "launch");
    return dgxm_cuda_launched(err, "cross-attention cluster");
}
