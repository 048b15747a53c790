/* Test helpers that write safetensors files and tiny MusicGen checkpoint directories, so each
 * loader failure mode can be produced in a few lines. */
#ifndef DGXM_TEST_SAFETENSORS_WRITER_H
#define DGXM_TEST_SAFETENSORS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct test_st_tensor {
    const char *name;
    const char *dtype; /* safetensors spelling: "F32", "BF16", "I64", ... */
    int ndim;
    int64_t shape[8];
    const void *data; /* numel * dtype-size bytes; NULL: a deterministic byte pattern */
} test_st_tensor;

/* Bytes per element of a safetensors dtype spelling (0 when unknown). */
size_t test_dtype_size(const char *dtype);

/* Writes dir/file: header with data_offsets laid out back to back in the given order, then the
 * data. Returns 0 on success. */
int test_write_safetensors(const char *dir, const char *file, const test_st_tensor *tensors,
                           size_t count);

/* Writes dir/file from a literal header (its length prefix is strlen(header)) and data bytes:
 * for malformed files. Returns 0 on success. */
int test_write_raw_safetensors(const char *dir, const char *file, const char *header,
                               const void *data, size_t data_len);

/* A tiny MusicGen checkpoint (T5 2 layers d8, decoder 2 layers d16, EnCodec with ratios [2, 2],
 * num_filters 2, 2 quantizers), written as Hugging Face would lay it out. */
typedef struct tiny_options {
    const char *dtype;   /* every tensor's dtype; NULL means "F32" */
    bool stereo;         /* audio_channels 2, 4 codebooks */
    bool legacy_norm;    /* weight_g / weight_v instead of parametrizations.* */
    bool mixed_norm;     /* alternate the two weight-norm spellings conv by conv */
    bool sharded;        /* two shards + model.safetensors.index.json */
    bool t5_embed_copy;  /* also store text_encoder.encoder.embed_tokens.weight */
    bool positions;      /* store decoder embed_positions.weights */
    bool codec_encoder;  /* store the EnCodec encoder path */
    bool gated_gelu;     /* T5 feed_forward_proj "gated-gelu" (wi_0 / wi_1) */
    bool same_width;     /* T5 d_model == decoder hidden_size: no enc_to_dec_proj */
    const char *drop;    /* leave this tensor out */
    const char *reshape; /* give this tensor shape {reshape_dim0} instead */
    int64_t reshape_dim0;
    const char *retype; /* give this tensor dtype retype_dtype instead */
    const char *retype_dtype;
} tiny_options;

/* config.json text for the tiny checkpoint (static buffer, overwritten by the next call). */
const char *tiny_config_json(const tiny_options *opt);

/* Writes config.json, generation_config.json and the weights into dir. Returns the number of
 * tensors written, or -1 on failure. */
int tiny_checkpoint_write(const char *dir, const tiny_options *opt);

#endif
