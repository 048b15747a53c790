/* How much device memory a model needs before it is uploaded, and the check that turns "too
 * little memory" into one clear message instead of a failed cudaMalloc half-way through the
 * upload.
 *
 * The estimate counts what the loaders put in backend memory (core/t5.c, decoder.c,
 * encodec.c) and what one generation allocates (core/decoder_step.c):
 *   t5        T5 encoder + enc_to_dec_proj, float32
 *   decoder   attention and FFN matrices and the stacked LM heads in the weight format
 *             (f32 4 bytes, bf16/f16 2, int8 1 + one float scale per row); codebook
 *             embeddings and layer norms in float32 (the loader uploads them so)
 *   codec     EnCodec's decoder path at float32 (the caller passes model_info's figure)
 *   kv_cache  keys and values of every layer for a 30 s window (the longest one generation
 *             keeps: frame_rate x 30 + codebooks positions, capped by the position table),
 *             2 guidance rows, float32, plus cross-attention keys and values of a 512-token
 *             prompt
 *   working   EnCodec's full-rate activations for a 30 s clip (three live buffers of
 *             num_filters channels) and a fixed 512 MiB for the CUDA context and scratch
 * The figure is meant to be a little above what a job really takes, never below.
 *
 * Plain functions of their arguments; any thread.
 */
#ifndef DGXM_MEMORY_NEED_H
#define DGXM_MEMORY_NEED_H

#include "backend.h"
#include "model_config.h"

#include <stdint.h>

typedef struct dgxm_memory_need {
    int64_t t5, decoder, codec, kv_cache, working;
    int64_t total;
} dgxm_memory_need;

void dgxm_memory_need_estimate(const dgxm_model_config *cfg, dgxm_weight_format format,
                               int64_t codec_bytes, dgxm_memory_need *out);

/* DGXM_OK when need->total <= available; else DGXM_ERR_NOMEM with one line naming the model,
 * the device, the bytes needed (and the weight format), the bytes available and where that
 * figure comes from (`source`, e.g. "cudaMemGetInfo free" or "host MemAvailable"). */
dgxm_status dgxm_memory_need_check(const char *model, const char *device, dgxm_weight_format format,
                                   const dgxm_memory_need *need, int64_t available,
                                   const char *source, dgxm_error *err);

/* The host's MemAvailable from /proc/meminfo in bytes (free memory plus what the kernel can
 * reclaim, e.g. the page cache of mmap'ed checkpoints); -1 when unreadable. Any thread. */
int64_t dgxm_host_mem_available(void);

/* "f32", "bf16", "f16", "int8". Static storage. */
const char *dgxm_weight_format_name(dgxm_weight_format format);

#endif
