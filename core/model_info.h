/* A summary of an opened checkpoint for people (`dgxm info`): what kind of model it is, how many
 * parameters each part stores, in which dtypes, and how much memory each weight format would
 * take once loaded.
 *
 * Counting rules:
 *   parameters  elements of the stored tensors, by prefix: text_encoder., enc_to_dec_proj.,
 *               decoder., audio_encoder. (anything else is "other"). A stored tied copy of the
 *               T5 embedding (encoder.embed_tokens beside shared) is counted once. A stored
 *               embed_positions table is counted under the decoder and reported separately.
 *   memory      only the tensors generation loads (dgxm_checkpoint entries):
 *               decoder LM at f32 (4 bytes each), bf16/f16 (2 bytes; layer norms stay f32) and
 *               int8 (attention/FFN matrices 1 byte + one f32 scale per output row; embeddings
 *               and lm_heads bf16; layer norms f32); the stored embed_positions is not loaded.
 *               T5 and the projection at f32. EnCodec decoder + codebooks at f32 with each
 *               weight-norm pair folded into one weight (g not kept); the encoder path is not
 *               loaded for generation.
 *
 * A plain value type filled from a dgxm_checkpoint; any thread may call (the checkpoint is only
 * read).
 */
#ifndef DGXM_MODEL_INFO_H
#define DGXM_MODEL_INFO_H

#include "checkpoint.h"

#include <stdint.h>

typedef struct dgxm_model_info {
    bool stereo;
    const char *size_class; /* "small", "medium", "large" (decoder hidden 1024/1536/2048) or
                             * "custom"; static storage */

    size_t tensor_count; /* stored tensors */
    size_t file_count;   /* safetensors files */
    bool sharded;
    int64_t stored_bytes;                   /* tensor data bytes in the files */
    size_t dtype_tensors[DGXM_DTYPE_COUNT]; /* stored tensors per dtype */

    int64_t params_text_encoder;
    int64_t params_projection;
    int64_t params_decoder;
    int64_t params_codec;
    int64_t params_other;
    int64_t params_total;
    bool t5_tied_copy_stored;  /* encoder.embed_tokens stored beside shared (counted once) */
    bool positions_stored;     /* decoder embed_positions.weights stored */
    int64_t positions_params;  /* its elements (included in params_decoder) */
    bool codec_encoder_stored; /* the EnCodec encoder path is stored */

    int64_t decoder_bytes_f32;
    int64_t decoder_bytes_16; /* bf16 or f16 */
    int64_t decoder_bytes_int8;
    int64_t t5_bytes_f32;    /* T5 encoder + projection */
    int64_t codec_bytes_f32; /* EnCodec decoder path + codebooks */
} dgxm_model_info;

void dgxm_model_info_get(const dgxm_checkpoint *ckpt, dgxm_model_info *info);

#endif
