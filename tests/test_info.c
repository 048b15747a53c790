/* dgxm info: parameter counts and weight-format memory of tiny checkpoints against numbers worked
 * out by hand; the built binary's output and exit status; the real fixture checkpoints (skipped,
 * with a message, only when their directory is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model_info.h"
#include "safetensors_writer.h"
#include "run_dgxm.h"
#include "test_support.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup_dir(void **state)
{
    *state = test_make_temp_dir();
    return *state ? 0 : -1;
}

static int remove_dir(void **state)
{
    test_remove_tree(*state);
    free(*state);
    return 0;
}

static dgxm_checkpoint *open_tiny(const char *dir, const tiny_options *opt)
{
    assert_true(tiny_checkpoint_write(dir, opt) > 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(dir, &err);
    if (!ck)
        print_error("%s\n", err.message);
    assert_non_null(ck);
    return ck;
}

/* Hand count for the tiny model (see tests/support/safetensors_writer.c):
 *   T5: shared 10x8 = 80, relative bias 8x2 = 16, per block q/k/v/o 4x64 + 2 norms 16 + wi 96
 *       + wo 96 = 464 (x2 = 928), final norm 8: 1032. Projection 16x8 + 16 = 144.
 *   decoder: embeds 2 x 33x16 = 1056, per layer 8 x 256 + 6 norms x 16 + fc1 384 + fc2 384 =
 *       2912 (x2 = 5824), final norm 32, heads 2 x 32x16 = 1024: 7936.
 *   EnCodec decoder path 932 (of which 30 are weight_g), quantizer 2 x (128 + 128 + 32 + 1) = 578.
 */
static void tiny_checkpoint_counts(void **state)
{
    tiny_options opt = { 0 };
    dgxm_checkpoint *ck = open_tiny(*state, &opt);
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    assert_false(info.stereo);
    assert_string_equal(info.size_class, "custom");
    assert_false(info.sharded);
    assert_int_equal(info.file_count, 1);
    assert_int_equal(info.params_text_encoder, 1032);
    assert_int_equal(info.params_projection, 144);
    assert_int_equal(info.params_decoder, 7936);
    assert_int_equal(info.params_codec, 932 + 578);
    assert_int_equal(info.params_other, 0);
    assert_int_equal(info.params_total, 1032 + 144 + 7936 + 932 + 578);
    assert_int_equal(info.stored_bytes, 4 * info.params_total);
    assert_int_equal(info.dtype_tensors[DGXM_DTYPE_F32], info.tensor_count);
    assert_false(info.positions_stored);
    assert_false(info.t5_tied_copy_stored);
    assert_false(info.codec_encoder_stored);
    /* decoder: linear 2 x (2048 + 768) = 5632, embeds + heads 2080, norms 224 */
    assert_int_equal(info.decoder_bytes_f32, 4 * 7936);
    assert_int_equal(info.decoder_bytes_16, 2 * 5632 + 2 * 2080 + 4 * 224);
    /* int8: 1 byte per weight + one f32 scale per row (2 x (8 x 16 + 24 + 16) = 336 rows) */
    assert_int_equal(info.decoder_bytes_int8, 5632 + 4 * 336 + 2 * 2080 + 4 * 224);
    assert_int_equal(info.t5_bytes_f32, 4 * (1032 + 144));
    assert_int_equal(info.codec_bytes_f32, 4 * (932 - 30 + 2 * 128));
    dgxm_checkpoint_free(ck);
}

static void optional_tensors_are_reported_not_loaded(void **state)
{
    tiny_options opt = { .dtype = "F16",
                         .t5_embed_copy = true,
                         .positions = true,
                         .codec_encoder = true,
                         .legacy_norm = true,
                         .sharded = true };
    dgxm_checkpoint *ck = open_tiny(*state, &opt);
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    assert_true(info.sharded);
    assert_int_equal(info.file_count, 2);
    assert_true(info.t5_tied_copy_stored);
    assert_int_equal(info.params_text_encoder, 1032); /* the copy is not counted */
    assert_true(info.positions_stored);
    assert_int_equal(info.positions_params, 64 * 16);
    assert_int_equal(info.params_decoder, 7936 + 64 * 16);
    assert_true(info.codec_encoder_stored);
    assert_int_equal(info.params_codec, 932 + 578 + 932); /* the encoder mirrors the decoder */
    assert_int_equal(info.dtype_tensors[DGXM_DTYPE_F16], info.tensor_count);
    assert_int_equal(info.stored_bytes, 2 * (info.params_total + 80));
    /* memory is what generation loads: the same as without the optional tensors */
    assert_int_equal(info.decoder_bytes_f32, 4 * 7936);
    assert_int_equal(info.t5_bytes_f32, 4 * (1032 + 144));
    assert_int_equal(info.codec_bytes_f32, 4 * (932 - 30 + 2 * 128));
    dgxm_checkpoint_free(ck);
}

static void stereo_is_reported(void **state)
{
    tiny_options opt = { .stereo = true, .dtype = "BF16" };
    dgxm_checkpoint *ck = open_tiny(*state, &opt);
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    assert_true(info.stereo);
    assert_int_equal(info.params_decoder, 7936 + 2 * 33 * 16 + 2 * 32 * 16);
    assert_int_equal(info.dtype_tensors[DGXM_DTYPE_BF16], info.tensor_count);
    dgxm_checkpoint_free(ck);
}

/* ---- the dgxm binary ---------------------------------------------------------------------- */

/* Runs dgxm with args (NULL-terminated); the scratch folder is no longer needed for output. */
static dgxm_run run_dgxm(const char *tmp, const char *const *args)
{
    (void)tmp;
    dgxm_run r = test_run_dgxm(args, 0);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

/* The value after "key:" on its line of out (padding skipped), in a static buffer. */
static const char *field(const char *out, const char *key)
{
    static char value[512];
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\n%s:", key);
    const char *at = strstr(out, pattern);
    if (!at && !strncmp(out, pattern + 1, strlen(pattern) - 1))
        at = out - 1;
    if (!at)
        return "";
    at += strlen(pattern);
    while (*at == ' ')
        at++;
    size_t n = strcspn(at, "\n");
    snprintf(value, sizeof value, "%.*s", (int)n, at);
    return value;
}

static void cli_prints_the_fields(void **state)
{
    char *model = NULL;
    assert_true(asprintf(&model, "%s/model", (char *)*state) > 0);
    assert_int_equal(mkdir(model, 0700), 0);
    tiny_options opt = { .positions = true };
    assert_true(tiny_checkpoint_write(model, &opt) > 0);
    const char *args[] = { "info", model, NULL };
    dgxm_run r = run_dgxm(*state, args);
    if (r.status != 0)
        print_error("stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_string_equal(field(r.out, "checkpoint"), model);
    assert_string_equal(field(r.out, "model"), "musicgen mono custom (decoder hidden 16)");
    assert_string_equal(field(r.out, "stored dtypes"), "F32 (96 tensors)");
    assert_string_equal(field(r.out, "params text encoder"), "1032");
    assert_string_equal(field(r.out, "params projection"), "144");
    assert_string_equal(field(r.out, "params decoder LM"), "8960");
    assert_string_equal(field(r.out, "params audio codec"), "1510");
    assert_string_equal(field(r.out, "params total"), "11646");
    assert_non_null(strstr(field(r.out, "embed_positions stored"), "yes (1024 values"));
    assert_string_equal(field(r.out, "sample rate"), "800 Hz");
    assert_string_equal(field(r.out, "frame rate"), "200 frames/s");
    assert_string_equal(field(r.out, "hop"), "4 samples");
    assert_string_equal(field(r.out, "codebooks"), "2 (1 audio channel(s) x 2 quantizers)");
    assert_string_equal(field(r.out, "codebook size"), "32 (+1 special token 32)");
    assert_string_equal(field(r.out, "audio channels"), "1 (mono)");
    assert_string_equal(field(r.out, "text encoder (T5)"),
                        "2 layers, d_model 8, 2 heads x 4, d_ff 12, relu, vocab 10");
    assert_string_equal(field(r.out, "decoder LM"),
                        "2 layers, hidden 16, 2 heads x 8, ffn 24, max positions 64");
    assert_non_null(strstr(field(r.out, "memory decoder LM f32"), "31744 bytes"));
    assert_non_null(strstr(field(r.out, "memory decoder LM bf16/f16"), "16320 bytes"));
    assert_non_null(strstr(field(r.out, "memory decoder LM int8"), "12032 bytes"));
    assert_non_null(strstr(field(r.out, "memory T5 + projection f32"), "4704 bytes"));
    assert_non_null(strstr(field(r.out, "memory EnCodec f32"), "4632 bytes"));
    test_run_free(&r);
    free(model);
}

static void cli_fails_on_a_missing_directory(void **state)
{
    char *dir = NULL;
    assert_true(asprintf(&dir, "%s/no-such-model", (char *)*state) > 0);
    const char *args[] = { "info", dir, NULL };
    dgxm_run r = run_dgxm(*state, args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    char want[4200];
    snprintf(want, sizeof want, "dgxm info: %s: checkpoint directory: No such file or directory\n",
             dir);
    assert_string_equal(r.err, want);
    test_run_free(&r);
    free(dir);
}

static void cli_names_a_missing_tensor(void **state)
{
    char *model = NULL;
    assert_true(asprintf(&model, "%s/model", (char *)*state) > 0);
    assert_int_equal(mkdir(model, 0700), 0);
    tiny_options opt = { .drop = "decoder.model.decoder.layers.1.self_attn.k_proj.weight" };
    assert_true(tiny_checkpoint_write(model, &opt) > 0);
    const char *args[] = { "info", model, NULL };
    dgxm_run r = run_dgxm(*state, args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "dgxm info: "));
    assert_non_null(strstr(r.err, model));
    assert_non_null(strstr(r.err, "decoder.model.decoder.layers.1.self_attn.k_proj.weight"));
    test_run_free(&r);
    free(model);
}

static void cli_usage_errors(void **state)
{
    const char *none[] = { "info", NULL };
    dgxm_run r = run_dgxm(*state, none);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "usage: dgxm info DIR"));
    test_run_free(&r);
    const char *help[] = { "info", "--help", NULL };
    r = run_dgxm(*state, help);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: dgxm info DIR"));
    test_run_free(&r);
}

/* ---- the real fixture checkpoints (tests/fixtures/models) ------------------------------------ */

typedef struct fixture {
    const char *name;
    dgxm_dtype dtype;
    bool stereo;
    bool sharded;
    bool legacy_norm;
} fixture;

/* as tests/reference/README.md describes them */
static const fixture fixtures[] = {
    { "mono", DGXM_DTYPE_F32, false, false, false },
    { "mono-legacy", DGXM_DTYPE_F16, false, true, true },
    { "stereo", DGXM_DTYPE_F32, true, false, false },
    { "stereo-legacy", DGXM_DTYPE_BF16, true, false, true },
};

static void fixture_checkpoint_opens(const fixture *f, void **state)
{
    char rel[64];
    snprintf(rel, sizeof rel, "models/%s", f->name);
    struct stat sb;
    if (stat(test_fixture_path(rel), &sb) != 0) {
        /* only while the fixture directory is absent; visible in the test log */
        fprintf(stderr, "SKIPPED: fixture checkpoint %s is absent\n", test_fixture_path(rel));
        skip();
        return;
    }
    char *dir = strdup(test_fixture_path(rel));
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(dir, &err);
    if (!ck)
        print_error("%s\n", err.message);
    assert_non_null(ck);
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    assert_int_equal(info.stereo, f->stereo);
    assert_int_equal(info.sharded, f->sharded);
    assert_int_equal(info.dtype_tensors[f->dtype], info.tensor_count);
    const dgxm_model_config *c = dgxm_checkpoint_config(ck);
    assert_int_equal(c->decoder.num_codebooks,
                     c->decoder.audio_channels * c->encodec.num_quantizers);
    dgxm_conv_tensors conv;
    assert_int_equal(dgxm_checkpoint_conv(
                         ck, dgxm_checkpoint_codec_decoder_plan(ck)->layers[0].prefix, &conv, &err),
                     DGXM_OK);
    assert_int_equal(conv.legacy, f->legacy_norm);
    /* every stored element is counted once, except a tied T5 embedding copy */
    int64_t sum = 0, copy = 0;
    const dgxm_weights *w = dgxm_checkpoint_weights(ck);
    for (size_t i = 0; i < dgxm_weights_count(w); i++) {
        const dgxm_tensor *t = dgxm_weights_at(w, i);
        sum += t->numel;
        if (!strcmp(t->name, "text_encoder.encoder.embed_tokens.weight") &&
            dgxm_checkpoint_t5_embedding(ck) != t)
            copy = t->numel;
    }
    assert_int_equal(info.params_total, sum - copy);
    assert_int_equal(info.t5_tied_copy_stored, copy > 0);
    dgxm_checkpoint_free(ck);

    const char *args[] = { "info", dir, NULL };
    dgxm_run r = run_dgxm(*state, args);
    if (r.status != 0)
        print_error("stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "musicgen %s ", f->stereo ? "stereo" : "mono");
    assert_non_null(strstr(field(r.out, "model"), want));
    assert_non_null(strstr(field(r.out, "stored dtypes"), dgxm_dtype_name(f->dtype)));
    assert_non_null(strstr(field(r.out, "audio channels"), f->stereo ? "stereo" : "mono"));
    test_run_free(&r);
    free(dir);
}

static void fixture_mono(void **state)
{
    fixture_checkpoint_opens(&fixtures[0], state);
}

static void fixture_mono_legacy(void **state)
{
    fixture_checkpoint_opens(&fixtures[1], state);
}

static void fixture_stereo(void **state)
{
    fixture_checkpoint_opens(&fixtures[2], state);
}

static void fixture_stereo_legacy(void **state)
{
    fixture_checkpoint_opens(&fixtures[3], state);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(tiny_checkpoint_counts),
        DIR_TEST(optional_tensors_are_reported_not_loaded),
        DIR_TEST(stereo_is_reported),
        DIR_TEST(cli_prints_the_fields),
        DIR_TEST(cli_fails_on_a_missing_directory),
        DIR_TEST(cli_names_a_missing_tensor),
        DIR_TEST(cli_usage_errors),
        DIR_TEST(fixture_mono),
        DIR_TEST(fixture_mono_legacy),
        DIR_TEST(fixture_stereo),
        DIR_TEST(fixture_stereo_legacy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
