/* EnCodec layer plans: the 32 kHz model gives exactly the layer table of the reference (§1.5.4,
 * §6.3), and other configs number their layers as transformers' ModuleList does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "encodec_layout.h"

#include <stdio.h>
#include <string.h>

static dgxm_encodec_config encodec_32khz(void)
{
    return (dgxm_encodec_config){ .sampling_rate = 32000,
                                  .audio_channels = 1,
                                  .num_filters = 64,
                                  .hidden_size = 128,
                                  .codebook_size = 2048,
                                  .codebook_dim = 128,
                                  .num_quantizers = 4,
                                  .upsampling_ratios = { 8, 5, 4, 4 },
                                  .num_ratios = 4,
                                  .hop_length = 640,
                                  .frame_rate = 50,
                                  .num_residual_layers = 1,
                                  .residual_kernel_size = 3,
                                  .dilation_growth_rate = 2,
                                  .compress = 2,
                                  .kernel_size = 7,
                                  .last_kernel_size = 7,
                                  .num_lstm_layers = 2,
                                  .pad_reflect = true,
                                  .trim_right_ratio = 1.0 };
}

typedef struct row {
    dgxm_encodec_layer_kind kind;
    int in, out, kernel, stride;
} row;

static void expect_plan(const dgxm_encodec_plan *p, const row *rows, int n, const char *part)
{
    assert_int_equal(p->count, n);
    for (int i = 0; i < n; i++) {
        const dgxm_encodec_layer *l = &p->layers[i];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "audio_encoder.%s.layers.%d", part, i);
        assert_string_equal(l->prefix, prefix);
        assert_int_equal(l->index, i);
        assert_int_equal(l->kind, rows[i].kind);
        assert_int_equal(l->in_channels, rows[i].in);
        assert_int_equal(l->out_channels, rows[i].out);
        if (l->kind == DGXM_ENCODEC_CONV || l->kind == DGXM_ENCODEC_CONVTR) {
            assert_int_equal(l->kernel, rows[i].kernel);
            assert_int_equal(l->stride, rows[i].stride);
        }
    }
}

#define CONV   DGXM_ENCODEC_CONV
#define CONVTR DGXM_ENCODEC_CONVTR
#define LSTM   DGXM_ENCODEC_LSTM
#define RES    DGXM_ENCODEC_RESBLOCK
#define ELU    DGXM_ENCODEC_ELU

static void decoder_32khz_matches_reference_table(void **state)
{
    (void)state;
    static const row rows[] = {
        { CONV, 128, 1024, 7, 1 },    { LSTM, 1024, 1024, 0, 0 }, { ELU, 1024, 1024, 0, 0 },
        { CONVTR, 1024, 512, 16, 8 }, { RES, 512, 512, 0, 0 },    { ELU, 512, 512, 0, 0 },
        { CONVTR, 512, 256, 10, 5 },  { RES, 256, 256, 0, 0 },    { ELU, 256, 256, 0, 0 },
        { CONVTR, 256, 128, 8, 4 },   { RES, 128, 128, 0, 0 },    { ELU, 128, 128, 0, 0 },
        { CONVTR, 128, 64, 8, 4 },    { RES, 64, 64, 0, 0 },      { ELU, 64, 64, 0, 0 },
        { CONV, 64, 1, 7, 1 },
    };
    dgxm_encodec_config c = encodec_32khz();
    dgxm_encodec_plan plan;
    assert_int_equal(dgxm_encodec_decoder_plan(&c, &plan, NULL), DGXM_OK);
    expect_plan(&plan, rows, 16, "decoder");
    assert_int_equal(plan.layers[1].lstm_layers, 2);
    const dgxm_encodec_layer *res = &plan.layers[4];
    assert_int_equal(res->hidden, 256);
    assert_int_equal(res->kernel, 3);
    assert_int_equal(res->dilation, 1);
    assert_false(res->shortcut);
    dgxm_encodec_layer convs[3];
    assert_int_equal(dgxm_encodec_resblock_convs(res, convs), 2);
    assert_string_equal(convs[0].prefix, "audio_encoder.decoder.layers.4.block.1");
    assert_int_equal(convs[0].in_channels, 512);
    assert_int_equal(convs[0].out_channels, 256);
    assert_int_equal(convs[0].kernel, 3);
    assert_string_equal(convs[1].prefix, "audio_encoder.decoder.layers.4.block.3");
    assert_int_equal(convs[1].in_channels, 256);
    assert_int_equal(convs[1].out_channels, 512);
    assert_int_equal(convs[1].kernel, 1);
}

static void encoder_32khz_matches_reference_table(void **state)
{
    (void)state;
    static const row rows[] = {
        { CONV, 1, 64, 7, 1 },      { RES, 64, 64, 0, 0 },      { ELU, 64, 64, 0, 0 },
        { CONV, 64, 128, 8, 4 },    { RES, 128, 128, 0, 0 },    { ELU, 128, 128, 0, 0 },
        { CONV, 128, 256, 8, 4 },   { RES, 256, 256, 0, 0 },    { ELU, 256, 256, 0, 0 },
        { CONV, 256, 512, 10, 5 },  { RES, 512, 512, 0, 0 },    { ELU, 512, 512, 0, 0 },
        { CONV, 512, 1024, 16, 8 }, { LSTM, 1024, 1024, 0, 0 }, { ELU, 1024, 1024, 0, 0 },
        { CONV, 1024, 128, 7, 1 },
    };
    dgxm_encodec_config c = encodec_32khz();
    dgxm_encodec_plan plan;
    assert_int_equal(dgxm_encodec_encoder_plan(&c, &plan, NULL), DGXM_OK);
    expect_plan(&plan, rows, 16, "encoder");
}

static void residual_layers_grow_dilation_and_shift_indices(void **state)
{
    (void)state;
    dgxm_encodec_config c = encodec_32khz();
    c.num_residual_layers = 3;
    c.dilation_growth_rate = 3;
    c.use_conv_shortcut = true;
    c.upsampling_ratios[0] = 2;
    c.upsampling_ratios[1] = 3;
    c.num_ratios = 2;
    dgxm_encodec_plan plan;
    assert_int_equal(dgxm_encodec_decoder_plan(&c, &plan, NULL), DGXM_OK);
    /* conv, lstm, [elu, convtr, res x3] x2, elu, conv */
    assert_int_equal(plan.count, 2 + 2 * 5 + 2);
    assert_int_equal(plan.layers[0].out_channels, 256); /* 64 * 2^2 */
    assert_int_equal(plan.layers[3].kind, DGXM_ENCODEC_CONVTR);
    assert_int_equal(plan.layers[3].kernel, 4);
    assert_int_equal(plan.layers[3].stride, 2);
    int dil[3] = { plan.layers[4].dilation, plan.layers[5].dilation, plan.layers[6].dilation };
    assert_int_equal(dil[0], 1);
    assert_int_equal(dil[1], 3);
    assert_int_equal(dil[2], 9);
    dgxm_encodec_layer convs[3];
    assert_int_equal(dgxm_encodec_resblock_convs(&plan.layers[6], convs), 3);
    assert_string_equal(convs[2].prefix, "audio_encoder.decoder.layers.6.shortcut");
    assert_int_equal(convs[0].dilation, 9);
    assert_int_equal(convs[1].dilation, 1);
    assert_int_equal(plan.layers[8].kind, DGXM_ENCODEC_CONVTR);
    assert_int_equal(plan.layers[8].stride, 3);
    assert_int_equal(plan.layers[13].kind, DGXM_ENCODEC_CONV);
    assert_int_equal(plan.layers[13].in_channels, 64);

    assert_int_equal(dgxm_encodec_encoder_plan(&c, &plan, NULL), DGXM_OK);
    /* conv, [res x3, elu, conv] x2 with ratios reversed, lstm, elu, conv */
    assert_int_equal(plan.count, 1 + 2 * 5 + 3);
    assert_int_equal(plan.layers[5].stride, 3); /* last ratio first */
    assert_int_equal(plan.layers[10].stride, 2);
    assert_int_equal(plan.layers[11].kind, DGXM_ENCODEC_LSTM);
}

static void out_of_range_config_is_refused(void **state)
{
    (void)state;
    dgxm_encodec_config c = encodec_32khz();
    c.num_ratios = 9;
    dgxm_encodec_plan plan;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_encodec_decoder_plan(&c, &plan, &err), DGXM_ERR_INVALID_ARG);
    assert_int_equal(plan.count, 0);
    c = encodec_32khz();
    c.compress = 0;
    assert_int_equal(dgxm_encodec_encoder_plan(&c, &plan, NULL), DGXM_ERR_INVALID_ARG);
    assert_string_equal(dgxm_encodec_layer_kind_name(DGXM_ENCODEC_CONVTR), "convtr");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decoder_32khz_matches_reference_table),
        cmocka_unit_test(encoder_32khz_matches_reference_table),
        cmocka_unit_test(residual_layers_grow_dilation_and_shift_indices),
        cmocka_unit_test(out_of_range_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
