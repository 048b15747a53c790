/* Bulk copies from global into shared memory (cp.async.bulk, sm_90 and later) and the
 * mbarriers that say when they have landed, shared by the persistent step's weight ring and the
 * cross-attention cluster kernel. Each slot has one mbarrier that completes when its copy has
 * landed; its phase bit flips once per use of the slot. On earlier architectures every helper
 * compiles to nothing: the host launches their users only on sm_90 and later. Included by .cu
 * files only. */
#ifndef DGXM_CUDA_STEP_BULK_COPY_CUH
#define DGXM_CUDA_STEP_BULK_COPY_CUH

namespace dgxm_step
{

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

} // namespace dgxm_step

#endif
