/* The decode step's attention as one launch: a block of 4 warps per (split of 128 keys, head,
 * batch row); see step_attention_block.cuh for the split and the in-kernel merge. */
#include "step_attention_block.cuh"

namespace
{

using namespace dgxm_step;

constexpr int WARPS = DGXM_STEP_ATTN_CHUNK / 32;

template <typename T>
__global__ void __launch_bounds__(DGXM_STEP_ATTN_CHUNK)
    step_attention_kernel(const dgxm_step_attention_args a)
{
    __shared__ attention_shared<WARPS> sh;
    dgxm_pdl_trigger();
    /* the position moves only at the end of a step (the token choice's last block), so the
     * length is known before the kernel before ends */
    const int length = attention_length(a);
    if ((int)blockIdx.x * DGXM_STEP_ATTN_CHUNK >= length)
        return;
    attention_split<T, WARPS, true>(a, blockIdx.x, blockIdx.y, blockIdx.z, sh);
}

} // namespace

dgxm_status dgxm_step_attention(const dgxm_step_attention_args *a, cudaStream_t s, bool pdl,
                                dgxm_error *err)
{
    const dim3 grid((unsigned)a->max_splits, (unsigned)a->heads, (unsigned)a->rows);
    const dgxm_step_attention_args args = *a;
    const cudaError_t e = a->kv_half
                              ? dgxm_step_launch(step_attention_kernel<__half>, grid,
                                                 dim3(DGXM_STEP_ATTN_CHUNK), 0, s, pdl, args)
                              : dgxm_step_launch(step_attention_kernel<float>, grid,
                                                 dim3(DGXM_STEP_ATTN_CHUNK), 0, s, pdl, args);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "step attention", "launch");
    return dgxm_cuda_launched(err, "step attention");
}
