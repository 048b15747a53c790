/* EnCodec decoding in chunks while codes are still being generated.
 *
 * The decoder is not causal (its convolutions look a few frames ahead and pad by reflection at
 * the ends of what they are given) and its LSTM starts from a zero state, so a chunk decoded on
 * its own differs from the same frames of a whole-clip decode near both edges. Each chunk
 * [a, b) is therefore decoded as the window [a - left, b + right) (clamped to the clip) and only
 * the samples of [a, b) are kept: the left context warms the LSTM up and covers the
 * convolutions' left reach, the right context their right reach. At the clip's ends the window
 * ends exactly where the whole-clip decode does, so those edges match exactly.
 * docs/architecture.md ("Engine runtime") records the measured agreement.
 *
 * Threads: the engine thread (the decode callback calls the backend). The caller owns codes.
 */
#ifndef DGXM_CHUNKED_DECODE_H
#define DGXM_CHUNKED_DECODE_H

#include "dgxm/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgxm_chunk_layout {
    int left;  /* codec frames decoded before each chunk and dropped */
    int right; /* codec frames decoded after each chunk and dropped */
    int first; /* frames in the first chunk: small, for a short time to first audio */
    int chunk; /* the largest chunk: each chunk doubles the last one's size up to this */
} dgxm_chunk_layout;

/* The engine's layout (see docs/architecture.md for the measurements behind it). */
dgxm_chunk_layout dgxm_chunk_layout_default(void);

/* Decodes codes[K][n] (row stride n) to audio[channels][n * hop] (row stride n * hop). */
typedef dgxm_status (*dgxm_decode_fn)(void *ctx, const int32_t *codes, int n, float *audio,
                                      dgxm_error *err);

/* Receives `samples` samples of each channel: channel c starts at audio + c * stride. */
typedef dgxm_status (*dgxm_audio_sink)(void *ctx, const float *audio, size_t stride, size_t samples,
                                       dgxm_error *err);

typedef struct dgxm_chunked_decoder dgxm_chunked_decoder;

/* A decoder over codes[codebooks][total] (row stride total), which the caller keeps filling
 * from the front. Allocates its window buffers once. */
dgxm_chunked_decoder *dgxm_chunked_decoder_new(dgxm_decode_fn decode, void *decode_ctx,
                                               int codebooks, int channels, int hop,
                                               const int32_t *codes, int total,
                                               dgxm_chunk_layout layout, dgxm_error *err);
void dgxm_chunked_decoder_free(dgxm_chunked_decoder *d);

/* The first `ready` frames of codes are final: decodes every chunk whose window they cover and
 * hands its kept samples to sink in order. With ready == total, everything left is decoded. */
dgxm_status dgxm_chunked_decoder_advance(dgxm_chunked_decoder *d, int ready, dgxm_audio_sink sink,
                                         void *sink_ctx, dgxm_error *err);

/* Frames whose audio has gone to the sink. */
int dgxm_chunked_decoder_emitted(const dgxm_chunked_decoder *d);

#endif
