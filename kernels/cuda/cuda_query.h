/* Questions a diagnostic asks of the CUDA runtime and of a started CUDA backend: versions and
 * the device count (with the CUDA error when there is none), free memory, copy bandwidth. Plain
 * C, so `dgxm doctor` and core/device_memory.c need no CUDA headers.
 *
 * Threads: dgxm_cuda_probe from any thread; the functions that take a backend from the engine
 * thread that owns it (they queue work on its stream). Nothing here allocates memory the
 * caller must free.
 */
#ifndef DGXM_CUDA_QUERY_H
#define DGXM_CUDA_QUERY_H

#include "backend.h"
#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the runtime says before any backend exists. */
typedef struct dgxm_cuda_probe_result {
    int driver_version;  /* cudaDriverGetVersion: 13000 = 13.0; 0 when no driver is installed */
    int runtime_version; /* cudaRuntimeGetVersion: the runtime linked into this binary */
    int device_count;    /* 0 when there is no device or no driver */
    char error[160];     /* "cudaErrorNoDevice: no CUDA-capable device is detected" when
                          * device_count is 0 because cudaGetDeviceCount failed; else empty */
} dgxm_cuda_probe_result;

void dgxm_cuda_probe(dgxm_cuda_probe_result *out);

/* cudaMemGetInfo for b's device. On integrated GPUs (GB10) `free` counts only memory the
 * driver has not handed out yet and misses the host's reclaimable page cache, so it is not the
 * usable figure there: core/device_memory.c uses the host's MemAvailable instead. */
dgxm_status dgxm_cuda_memory(dgxm_backend *b, size_t *free_bytes, size_t *total_bytes,
                             dgxm_error *err);

/* Copy bandwidth in GB/s (1e9 bytes/s), timed with CUDA events on b's stream: host to device
 * and device to host from pinned (cudaMallocHost) memory, and device to device (cudaMemcpy
 * reads and writes each byte: d2d counts the bytes copied, so the memory moved is twice that).
 * `bytes` per copy, the best of `repeats` timed copies after one warm-up. */
typedef struct dgxm_cuda_bandwidth {
    double h2d_gbs, d2h_gbs, d2d_gbs;
    size_t bytes;
} dgxm_cuda_bandwidth;

dgxm_status dgxm_cuda_measure_bandwidth(dgxm_backend *b, size_t bytes, int repeats,
                                        dgxm_cuda_bandwidth *out, dgxm_error *err);

#ifdef __cplusplus
}
#endif

#endif
