/* libFuzzer target: dgxm_model_config_parse (config.json) and dgxm_generation_config_parse over
 * arbitrary bytes. An accepted config must satisfy the invariants the model code relies on. */
#include "encodec_layout.h"
#include "model_config.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const dgxm_model_config *c)
{
    const dgxm_decoder_config *d = &c->decoder;
    const dgxm_encodec_config *e = &c->encodec;
    if (d->hidden_size < 1 || d->hidden_size % d->num_heads || d->vocab_size != e->codebook_size ||
        d->num_codebooks != d->audio_channels * e->num_quantizers || e->hop_length < 1 ||
        e->frame_rate < 1.0 || c->t5.d_model < 1 || e->codebook_dim != e->hidden_size)
        abort();
    dgxm_encodec_plan plan;
    if (dgxm_encodec_decoder_plan(e, &plan, NULL) != DGXM_OK ||
        dgxm_encodec_encoder_plan(e, &plan, NULL) != DGXM_OK)
        abort(); /* every accepted config has a layer plan */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dgxm_model_config cfg;
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_model_config_parse("fuzz/config.json", (const char *)data, size, &cfg, &err) ==
        DGXM_OK)
        check_accepted(&cfg);
    else if (!err.message[0])
        abort();
    dgxm_decoder_config dec = { .vocab_size = 2048, .bos_token_id = 2048 };
    dgxm_generation_config gen;
    dgxm_error_clear(&err);
    (void)dgxm_generation_config_parse("fuzz/generation_config.json", (const char *)data, size,
                                       &dec, &gen, &err);
    return 0;
}
