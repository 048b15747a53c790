/* The memory a backend's device can give a model, and the check the engine makes before it
 * uploads one (core/memory_need.h has the estimate).
 *
 * Policy for integrated GPUs (GB10 / DGX Spark, Jetson: cudaDevAttrIntegrated): device memory
 * is the host's memory, and cudaMemGetInfo's free figure there counts only what the driver has
 * not handed out, not the page cache the kernel would reclaim (the mmap'ed checkpoint lives
 * there), so it under-reports. The usable figure on those devices is the host's MemAvailable.
 * On discrete GPUs it is cudaMemGetInfo's free figure.
 *
 * Threads: the engine thread that owns the backend.
 */
#ifndef DGXM_DEVICE_MEMORY_H
#define DGXM_DEVICE_MEMORY_H

#include "backend.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dgxm_device_memory {
    int64_t total;       /* the device's memory (the host's RAM for the CPU backend) */
    int64_t available;   /* the usable figure (see the policy above); -1 when unknown */
    int64_t driver_free; /* cudaMemGetInfo's free figure; -1 for the CPU backend */
    bool integrated;     /* the GPU shares the host's memory */
    const char *source;  /* where `available` comes from; static storage */
} dgxm_device_memory;

dgxm_status dgxm_device_memory_get(dgxm_backend *b, dgxm_device_memory *out, dgxm_error *err);

/* Before a CUDA upload: opens the checkpoint in model_dir (headers only), estimates what the
 * model needs in `format` and fails with DGXM_ERR_NOMEM naming the model, the bytes needed and
 * the bytes available when it does not fit (or with the checkpoint's own error). The CPU
 * backend is not checked (DGXM_OK): its memory is the host's, which the loader reports itself. */
dgxm_status dgxm_device_memory_check(dgxm_backend *b, const char *model_dir, const char *device,
                                     dgxm_weight_format format, dgxm_error *err);

#endif
