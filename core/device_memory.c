/* Usable device memory and the pre-upload check; see device_memory.h. */
#include "device_memory.h"

#include "checkpoint.h"
#include "memory_need.h"
#include "model_info.h"

#ifdef DGXM_HAVE_CUDA
#include "cuda/cuda_backend.h"
#include "cuda/cuda_query.h"
#endif

#include <string.h>
#include <unistd.h>

static int64_t host_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : -1;
}

dgxm_status dgxm_device_memory_get(dgxm_backend *b, dgxm_device_memory *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    out->driver_free = -1;
#ifdef DGXM_HAVE_CUDA
    const dgxm_cuda_info *info = dgxm_cuda_backend_info(b);
    if (info) {
        size_t free_bytes = 0, total_bytes = 0;
        dgxm_status s = dgxm_cuda_memory(b, &free_bytes, &total_bytes, err);
        if (s)
            return s;
        out->total = (int64_t)total_bytes;
        out->driver_free = (int64_t)free_bytes;
        out->integrated = info->integrated;
        if (info->integrated) {
            out->available = dgxm_host_mem_available();
            out->source = "host MemAvailable: the GPU shares host memory, and cudaMemGetInfo's "
                          "free figure misses reclaimable page cache there";
        } else {
            out->available = (int64_t)free_bytes;
            out->source = "cudaMemGetInfo free";
        }
        return DGXM_OK;
    }
#else
    (void)err;
#endif
    (void)b;
    out->total = host_total();
    out->available = dgxm_host_mem_available();
    out->source = "host MemAvailable";
    return DGXM_OK;
}

dgxm_status dgxm_device_memory_check(dgxm_backend *b, const char *model_dir, const char *device,
                                     dgxm_weight_format format, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (!strcmp(b->ops->name, "cpu"))
        return DGXM_OK;
    dgxm_device_memory mem;
    dgxm_status s = dgxm_device_memory_get(b, &mem, err);
    if (s || mem.available < 0)
        return s; /* unknown: the upload itself reports a shortage */
    dgxm_checkpoint *ck = dgxm_checkpoint_open(model_dir, err);
    if (!ck)
        return err->status;
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    dgxm_memory_need need;
    dgxm_memory_need_estimate(dgxm_checkpoint_config(ck), format, info.codec_bytes_f32, &need);
    dgxm_checkpoint_free(ck);
    return dgxm_memory_need_check(model_dir, device, format, &need, mem.available, mem.source, err);
}
