/* Chunked EnCodec decoding with left and right context: see chunked_decode.h. */
#include "chunked_decode.h"

#include <stdlib.h>
#include <string.h>

struct dgxm_chunked_decoder {
    dgxm_decode_fn decode;
    void *decode_ctx;
    int codebooks, channels, hop;
    const int32_t *codes; /* [codebooks][total] */
    int total;
    dgxm_chunk_layout layout;
    int emitted;
    int next_chunk; /* frames in the next chunk: doubles from layout.first up to layout.chunk */
    int max_window;
    int32_t *window; /* [codebooks][max_window] */
    float *audio;    /* [channels][max_window * hop] */
};

dgxm_chunk_layout dgxm_chunk_layout_default(void)
{
    return (dgxm_chunk_layout){ .left = 50, .right = 4, .first = 10, .chunk = 100 };
}

dgxm_chunked_decoder *dgxm_chunked_decoder_new(dgxm_decode_fn decode, void *decode_ctx,
                                               int codebooks, int channels, int hop,
                                               const int32_t *codes, int total,
                                               dgxm_chunk_layout layout, dgxm_error *err)
{
    if (layout.left < 0 || layout.right < 0 || layout.first < 1 || layout.chunk < 1 || total < 1 ||
        codebooks < 1 || channels < 1 || hop < 1) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                       "chunked decode: layout left %d right %d first %d chunk %d, %d frames",
                       layout.left, layout.right, layout.first, layout.chunk, total);
        return NULL;
    }
    dgxm_chunked_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "chunked decode: out of memory");
        return NULL;
    }
    *d = (dgxm_chunked_decoder){ .decode = decode,
                                 .decode_ctx = decode_ctx,
                                 .codebooks = codebooks,
                                 .channels = channels,
                                 .hop = hop,
                                 .codes = codes,
                                 .total = total,
                                 .layout = layout,
                                 .next_chunk = layout.first };
    int widest = layout.first > layout.chunk ? layout.first : layout.chunk;
    d->max_window = widest + layout.left + layout.right;
    if (d->max_window > total)
        d->max_window = total;
    d->window = malloc((size_t)codebooks * d->max_window * sizeof *d->window);
    d->audio = malloc((size_t)channels * d->max_window * hop * sizeof *d->audio);
    if (!d->window || !d->audio) {
        dgxm_chunked_decoder_free(d);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "chunked decode: windows of %d frames", total);
        return NULL;
    }
    return d;
}

void dgxm_chunked_decoder_free(dgxm_chunked_decoder *d)
{
    if (!d)
        return;
    free(d->window);
    free(d->audio);
    free(d);
}

int dgxm_chunked_decoder_emitted(const dgxm_chunked_decoder *d)
{
    return d->emitted;
}

/* Decodes the window around chunk [a, b) and passes on the chunk's samples. */
static dgxm_status decode_chunk(dgxm_chunked_decoder *d, int a, int b, dgxm_audio_sink sink,
                                void *sink_ctx, dgxm_error *err)
{
    const int w0 = a - d->layout.left > 0 ? a - d->layout.left : 0;
    const int w1 = b + d->layout.right < d->total ? b + d->layout.right : d->total;
    const int n = w1 - w0;
    for (int k = 0; k < d->codebooks; k++)
        memcpy(d->window + (size_t)k * n, d->codes + (size_t)k * d->total + w0,
               (size_t)n * sizeof *d->window);
    dgxm_status s = d->decode(d->decode_ctx, d->window, n, d->audio, err);
    if (s)
        return s;
    const size_t stride = (size_t)n * d->hop;
    return sink(sink_ctx, d->audio + (size_t)(a - w0) * d->hop, stride, (size_t)(b - a) * d->hop,
                err);
}

dgxm_status dgxm_chunked_decoder_advance(dgxm_chunked_decoder *d, int ready, dgxm_audio_sink sink,
                                         void *sink_ctx, dgxm_error *err)
{
    if (ready > d->total)
        ready = d->total;
    while (d->emitted < d->total) {
        const int a = d->emitted;
        const int b = a + d->next_chunk < d->total ? a + d->next_chunk : d->total;
        const int right_end = b + d->layout.right < d->total ? b + d->layout.right : d->total;
        if (right_end > ready)
            return DGXM_OK; /* the chunk's right context is not final yet */
        dgxm_status s = decode_chunk(d, a, b, sink, sink_ctx, err);
        if (s)
            return s;
        d->emitted = b;
        d->next_chunk = 2 * d->next_chunk < d->layout.chunk ? 2 * d->next_chunk : d->layout.chunk;
    }
    return DGXM_OK;
}
