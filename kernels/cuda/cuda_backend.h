/* The CUDA backend: the op table of kernels/backend.h on one NVIDIA GPU, from sm_80 to GB10
 * (sm_121). A plain C header: programs and tests include it without the CUDA headers.
 *
 * Memory: alloc returns cudaMalloc memory. Every pointer an op takes is device memory (weights,
 * activations, norm weights, biases, attention bias, key_valid, row_scale), except the ids of
 * embedding, which are host memory as backend.h says. copy_to_device and copy_to_host take any
 * pointer pair the CUDA runtime can classify (host to device, device to host, device to device).
 *
 * Ordering: every op is queued on one stream that the backend owns and returns without waiting
 * for the GPU; copy_to_host and copy_to_device wait for everything queued before them, so their
 * results are visible to the caller on return. An error of an asynchronous kernel shows up at
 * the next call that checks (a later op or a copy) as DGXM_ERR_BACKEND with the CUDA message.
 *
 * Threads: as backend.h: one engine thread owns the backend and makes every call.
 */
#ifndef DGXM_CUDA_BACKEND_H
#define DGXM_CUDA_BACKEND_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h"

/* What the start-up check read off the device. */
typedef struct dgxm_cuda_info {
    char name[256];
    int device;
    int cc_major, cc_minor;
    int sm_count;
    size_t global_mem_bytes;
    size_t l2_bytes;
    size_t smem_per_block;       /* without opting in */
    size_t smem_per_block_optin; /* the most a kernel may ask for after opting in */
    bool integrated;             /* shares the host's memory (GB10 / DGX Spark, Jetson) */
    bool pageable_memory_access; /* kernels may dereference plain malloc/mmap pointers */
    bool cooperative_launch;
    int binary_version; /* of the image the driver loaded for our kernels: 90 = sm_90 SASS */
    int ptx_version;    /* the PTX that image was built from */
    int runtime_version, driver_version;
} dgxm_cuda_info;

/* CUDA devices this process can use; 0 when there is no device or no driver (libcuda is loaded
 * at run time, so a program built with CUDA starts on any machine). Any thread. */
int dgxm_cuda_device_count(void);

/* The CUDA targets compiled into this binary, e.g. "sm_80 sm_86 ... compute_120" (sm_* are
 * machine code, compute_* PTX for the driver to compile). Static storage. Any thread. */
const char *dgxm_cuda_built_archs(void);

/* The backend on CUDA device `device`. Fails with DGXM_ERR_UNSUPPORTED when there is no CUDA
 * device or this binary carries no kernel image this device can run (the message names the
 * device, its compute capability and the targets compiled in), DGXM_ERR_INVALID_ARG for a device
 * index out of range, DGXM_ERR_BACKEND for any other CUDA failure. The start-up check launches
 * a kernel and reads back what it wrote. Freed with b->ops->destroy(b). Control or engine
 * thread; the calling thread becomes the backend's engine thread. */
dgxm_backend *dgxm_cuda_backend_new(int device, dgxm_error *err);

/* What computes the large matrix products: "cuBLASLt 13.1.0 (libcublasLt.so.13), for the
 * fold" (and "the float32 GEMMs" with DGXM_CUDA_CUBLASLT_F32=1), or the backend's own kernels
 * and why cuBLASLt is not used (missing, DGXM_CUDA_CUBLASLT=0). NULL when b
 * is not a CUDA backend. Owned by b. Any thread. */
const char *dgxm_cuda_backend_gemm_library(const dgxm_backend *b);

/* The device facts read at start-up; NULL when b is not a CUDA backend. Owned by b. */
const dgxm_cuda_info *dgxm_cuda_backend_info(const dgxm_backend *b);

#ifdef __cplusplus
}
#endif

#endif
