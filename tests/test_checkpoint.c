/* Checkpoint directories: tiny MusicGen checkpoints written in every supported layout open; each
 * way a directory can be broken is refused before inference with a message naming the file or
 * directory and the field or tensor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "safetensors_writer.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static dgxm_checkpoint *write_and_open(const char *dir, const tiny_options *opt)
{
    assert_true(tiny_checkpoint_write(dir, opt) > 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(dir, &err);
    if (!ck)
        print_error("open failed: %s\n", err.message);
    assert_non_null(ck);
    return ck;
}

/* Opening dir must fail with code and a message holding every needle (a NULL-terminated list). */
static void expect_open_error_in(const char *dir, dgxm_status code, const char *const *needles)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(dir, &err);
    assert_null(ck);
    bool ok = err.status == code;
    for (; *needles; needles++)
        ok = ok && strstr(err.message, *needles);
    if (!ok)
        print_error("status %d (want %d), message: %s\n", err.status, code, err.message);
    assert_true(ok);
}

#define expect_open_error(dir, code, ...) \
    expect_open_error_in(dir, code, (const char *const[]){ __VA_ARGS__ })

static void expect_broken(const char *dir, const tiny_options *opt, dgxm_status code,
                          const char *needle1, const char *needle2)
{
    assert_true(tiny_checkpoint_write(dir, opt) > 0);
    expect_open_error(dir, code, dir, needle1, needle2, NULL);
}

/* ---- what opens ----------------------------------------------------------------------------- */

static void tiny_f32_checkpoint_opens(void **state)
{
    tiny_options opt = { 0 };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    const dgxm_model_config *c = dgxm_checkpoint_config(ck);
    assert_false(c->stereo);
    assert_int_equal(c->decoder.num_codebooks, 2);
    assert_int_equal(c->encodec.num_quantizers, 2);
    assert_true(c->generation.do_sample);
    assert_true(c->generation.guidance_scale == 3.0);
    assert_int_equal(c->generation.max_length, 1500);
    assert_true(dgxm_checkpoint_has_projection(ck));
    assert_false(dgxm_checkpoint_has_codec_encoder(ck));
    assert_null(dgxm_checkpoint_codec_encoder_plan(ck));
    assert_int_equal(dgxm_checkpoint_codec_decoder_plan(ck)->count, 10);
    assert_string_equal(dgxm_checkpoint_dir(ck), *state);
    assert_false(dgxm_weights_sharded(dgxm_checkpoint_weights(ck)));

    const dgxm_tensor *fc1 = dgxm_checkpoint_tensor(ck, DGXM_DEC_FC1_FMT, 1);
    assert_non_null(fc1);
    assert_string_equal(fc1->name, "decoder.model.decoder.layers.1.fc1.weight");
    assert_int_equal(fc1->shape[0], 24);
    assert_null(dgxm_checkpoint_tensor(ck, DGXM_DEC_FC1_FMT, 2));
    assert_string_equal(dgxm_checkpoint_t5_embedding(ck)->name, "text_encoder.shared.weight");

    dgxm_conv_tensors conv;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_checkpoint_conv(ck, "audio_encoder.decoder.layers.3", &conv, &err),
                     DGXM_OK);
    assert_false(conv.legacy);
    assert_int_equal(conv.v->shape[0], 8); /* convtr: v [in, out, k] */
    assert_int_equal(conv.g->shape[0], 8);
    assert_int_equal(conv.bias->shape[0], 4);

    /* unused stored tensors (quantizer EMA state) are ignored; every checked one has a role */
    size_t n = dgxm_checkpoint_entry_count(ck);
    assert_true(n > 0 && n < dgxm_weights_count(dgxm_checkpoint_weights(ck)));
    for (size_t i = 0; i < n; i++)
        assert_non_null(dgxm_checkpoint_entry_at(ck, i)->tensor);
    assert_null(dgxm_checkpoint_entry_at(ck, n));
    dgxm_checkpoint_free(ck);
}

static void legacy_weight_norm_names_open(void **state)
{
    tiny_options opt = { .legacy_norm = true, .codec_encoder = true };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    dgxm_conv_tensors conv;
    assert_int_equal(
        dgxm_checkpoint_conv(ck, "audio_encoder.decoder.layers.7.block.1", &conv, NULL), DGXM_OK);
    assert_true(conv.legacy);
    assert_string_equal(conv.g->name, "audio_encoder.decoder.layers.7.block.1.conv.weight_g");
    assert_string_equal(conv.v->name, "audio_encoder.decoder.layers.7.block.1.conv.weight_v");
    dgxm_checkpoint_free(ck);
}

static void mixed_weight_norm_names_open(void **state)
{
    tiny_options opt = { .mixed_norm = true, .codec_encoder = true };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    dgxm_conv_tensors a, b;
    assert_int_equal(dgxm_checkpoint_conv(ck, "audio_encoder.decoder.layers.0", &a, NULL), 0);
    assert_int_equal(dgxm_checkpoint_conv(ck, "audio_encoder.decoder.layers.3", &b, NULL), 0);
    assert_true(a.legacy != b.legacy);
    dgxm_checkpoint_free(ck);
}

static void half_and_bfloat_checkpoints_open(void **state)
{
    static const char *const dtypes[] = { "F16", "BF16" };
    for (int i = 0; i < 2; i++) {
        tiny_options opt = { .dtype = dtypes[i], .stereo = i == 1 };
        dgxm_checkpoint *ck = write_and_open(*state, &opt);
        const dgxm_tensor *t = dgxm_checkpoint_tensor(ck, DGXM_DEC_LM_HEAD_FMT, 0);
        assert_string_equal(dgxm_dtype_name(t->dtype), dtypes[i]);
        dgxm_checkpoint_free(ck);
    }
}

static void stereo_checkpoint_has_interleaved_codebooks(void **state)
{
    tiny_options opt = { .stereo = true };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    const dgxm_model_config *c = dgxm_checkpoint_config(ck);
    assert_true(c->stereo);
    assert_int_equal(c->decoder.num_codebooks, 4);
    assert_int_equal(c->decoder.audio_channels, 2);
    assert_non_null(dgxm_checkpoint_tensor(ck, DGXM_DEC_EMBED_FMT, 3));
    dgxm_checkpoint_free(ck);
}

static void sharded_and_single_file_agree(void **state)
{
    const char *dir = *state;
    char *single = NULL, *sharded = NULL;
    assert_true(asprintf(&single, "%s/single", dir) > 0);
    assert_true(asprintf(&sharded, "%s/sh", dir) > 0);
    assert_int_equal(mkdir(single, 0700), 0);
    assert_int_equal(mkdir(sharded, 0700), 0);
    tiny_options a = { .legacy_norm = true, .t5_embed_copy = true };
    tiny_options b = a;
    b.sharded = true;
    dgxm_checkpoint *x = write_and_open(single, &a);
    dgxm_checkpoint *y = write_and_open(sharded, &b);
    const dgxm_weights *wx = dgxm_checkpoint_weights(x), *wy = dgxm_checkpoint_weights(y);
    assert_true(dgxm_weights_sharded(wy));
    assert_int_equal(dgxm_weights_file_count(wy), 2);
    assert_int_equal(dgxm_weights_count(wx), dgxm_weights_count(wy));
    for (size_t i = 0; i < dgxm_weights_count(wx); i++) {
        const dgxm_tensor *s = dgxm_weights_at(wx, i);
        const dgxm_tensor *t = dgxm_weights_find(wy, s->name);
        assert_non_null(t);
        assert_int_equal(s->dtype, t->dtype);
        assert_int_equal(s->ndim, t->ndim);
        assert_memory_equal(s->shape, t->shape, sizeof s->shape);
        assert_int_equal(s->nbytes, t->nbytes);
    }
    assert_int_equal(dgxm_checkpoint_entry_count(x), dgxm_checkpoint_entry_count(y));
    dgxm_checkpoint_free(x);
    dgxm_checkpoint_free(y);
    free(single);
    free(sharded);
}

static void optional_tensors_are_checked_when_stored(void **state)
{
    tiny_options opt = {
        .t5_embed_copy = true, .positions = true, .codec_encoder = true, .gated_gelu = true
    };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    assert_true(dgxm_checkpoint_has_codec_encoder(ck));
    assert_int_equal(dgxm_checkpoint_codec_encoder_plan(ck)->count, 10);
    assert_non_null(dgxm_checkpoint_tensor(ck, DGXM_T5_WI1_FMT, 1));
    dgxm_checkpoint_free(ck);
}

static void tied_copy_alone_serves_as_embedding(void **state)
{
    tiny_options opt = { .t5_embed_copy = true, .drop = "text_encoder.shared.weight" };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    assert_string_equal(dgxm_checkpoint_t5_embedding(ck)->name,
                        "text_encoder.encoder.embed_tokens.weight");
    dgxm_checkpoint_free(ck);
}

static void same_width_needs_no_projection(void **state)
{
    tiny_options opt = { .same_width = true };
    dgxm_checkpoint *ck = write_and_open(*state, &opt);
    assert_false(dgxm_checkpoint_has_projection(ck));
    dgxm_checkpoint_free(ck);
}

static void hub_snapshot_symlinks_open(void **state)
{
    /* the Hugging Face cache stores snapshots as symlinks into a blobs folder */
    const char *dir = *state;
    char *blobs = NULL, *snap = NULL;
    assert_true(asprintf(&blobs, "%s/blobs", dir) > 0);
    assert_true(asprintf(&snap, "%s/snapshot", dir) > 0);
    assert_int_equal(mkdir(blobs, 0700), 0);
    assert_int_equal(mkdir(snap, 0700), 0);
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(blobs, &opt) > 0);
    static const char *const files[] = { "config.json", "generation_config.json",
                                         "model.safetensors.index.json",
                                         "model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *target = NULL, *link = NULL;
        assert_true(asprintf(&target, "../blobs/%s", files[i]) > 0);
        assert_true(asprintf(&link, "%s/%s", snap, files[i]) > 0);
        assert_int_equal(symlink(target, link), 0);
        free(target);
        free(link);
    }
    dgxm_checkpoint *ck = dgxm_checkpoint_open(snap, NULL);
    assert_non_null(ck);
    dgxm_checkpoint_free(ck);
    free(blobs);
    free(snap);
}

/* ---- what is refused ----------------------------------------------------------------------- */

static void missing_directory(void **state)
{
    char *dir = NULL;
    assert_true(asprintf(&dir, "%s/nowhere", (char *)*state) > 0);
    expect_open_error(dir, DGXM_ERR_IO, dir, "No such file", NULL);
    free(dir);
}

static void directory_is_a_file(void **state)
{
    assert_int_equal(test_write_file(*state, "plain", "x", 1), 0);
    char *path = NULL;
    assert_true(asprintf(&path, "%s/plain", (char *)*state) > 0);
    expect_open_error(path, DGXM_ERR_IO, path, "not a directory", NULL);
    free(path);
}

static void missing_config_json(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    char *cfg = NULL;
    assert_true(asprintf(&cfg, "%s/config.json", (char *)*state) > 0);
    unlink(cfg);
    expect_open_error(*state, DGXM_ERR_IO, cfg, "missing", NULL);
    free(cfg);
}

static void missing_weights_file(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    char *w = NULL;
    assert_true(asprintf(&w, "%s/model.safetensors", (char *)*state) > 0);
    unlink(w);
    expect_open_error(*state, DGXM_ERR_IO, *state, "model.safetensors", NULL);
    free(w);
}

static void malformed_config_json(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    assert_int_equal(test_write_file(*state, "config.json", "{\"model_type\": ", 15), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "config.json", "JSON", NULL);
}

static void config_missing_a_section(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    static const char cfg[] = "{\"model_type\": \"musicgen\", \"text_encoder\": {\"model_type\": "
                              "\"t5\"}, \"audio_encoder\": {\"model_type\": \"encodec\"}}";
    assert_int_equal(test_write_file(*state, "config.json", cfg, sizeof cfg - 1), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "config.json: decoder: missing", NULL);
}

static void malformed_generation_config(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    static const char gen[] = "{\"guidance_scale\": \"three\"}";
    assert_int_equal(test_write_file(*state, "generation_config.json", gen, sizeof gen - 1), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "generation_config.json: guidance_scale", NULL);
}

static void truncated_weights_file(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    char *w = NULL;
    assert_true(asprintf(&w, "%s/model.safetensors", (char *)*state) > 0);
    size_t len = 0;
    char *bytes = test_read_file(w, &len);
    assert_non_null(bytes);
    assert_int_equal(test_write_file(*state, "model.safetensors", bytes, len - 100), 0);
    free(bytes);
    expect_open_error(*state, DGXM_ERR_FORMAT, w, "outside the data area", NULL);
    free(w);
}

static void weights_header_length_past_end(void **state)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    assert_int_equal(test_write_file(*state, "model.safetensors", "\xff\xff\0\0\0\0\0\0{}", 10), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "model.safetensors", "header length 65535", NULL);
}

static void integer_dtype_where_float_needed(void **state)
{
    tiny_options opt = { .retype = "decoder.model.decoder.layers.0.fc2.weight",
                         .retype_dtype = "I64" };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "decoder.model.decoder.layers.0.fc2.weight",
                  "dtype I64");
}

static void wrong_shape(void **state)
{
    tiny_options opt = { .reshape = "decoder.model.decoder.layers.1.fc1.weight",
                         .reshape_dim0 = 384 };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "decoder.model.decoder.layers.1.fc1.weight",
                  "shape [384], expected [24, 16]");
}

static void wrong_shape_in_codec_conv(void **state)
{
    tiny_options opt = { .reshape = "audio_encoder.decoder.layers.6.conv.parametrizations.weight."
                                    "original1",
                         .reshape_dim0 = 32 };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "audio_encoder.decoder.layers.6",
                  "expected [4, 2, 4]");
}

static void missing_tensor_is_named(void **state)
{
    static const char *const needed[] = {
        "decoder.lm_heads.1.weight",
        "decoder.model.decoder.embed_tokens.0.weight",
        "decoder.model.decoder.layers.1.encoder_attn.v_proj.weight",
        "decoder.model.decoder.layer_norm.bias",
        "text_encoder.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "text_encoder.encoder.block.1.layer.1.DenseReluDense.wo.weight",
        "text_encoder.encoder.final_layer_norm.weight",
        "text_encoder.shared.weight",
        "enc_to_dec_proj.bias",
        "audio_encoder.quantizer.layers.1.codebook.embed",
        "audio_encoder.decoder.layers.1.lstm.bias_hh_l0",
        "audio_encoder.decoder.layers.9.conv.bias",
        "audio_encoder.decoder.layers.4.block.3.conv.parametrizations.weight.original0",
    };
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) {
        tiny_options opt = { .drop = needed[i] };
        expect_broken(*state, &opt, DGXM_ERR_FORMAT, needed[i], "missing");
    }
}

static void missing_legacy_pair_half_is_named(void **state)
{
    tiny_options opt = { .legacy_norm = true,
                         .drop = "audio_encoder.decoder.layers.0.conv.weight_v" };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "audio_encoder.decoder.layers.0.conv.weight_v",
                  "missing");
}

static void stored_encoder_path_must_be_complete(void **state)
{
    tiny_options opt = { .codec_encoder = true,
                         .drop = "audio_encoder.encoder.layers.7.lstm.weight_hh_l0" };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "audio_encoder.encoder.layers.7.lstm.weight_hh_l0",
                  "missing");
}

static void tied_copy_with_other_shape(void **state)
{
    tiny_options opt = { .t5_embed_copy = true,
                         .reshape = "text_encoder.encoder.embed_tokens.weight",
                         .reshape_dim0 = 80 };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "text_encoder.encoder.embed_tokens.weight",
                  "expected [10, 8]");
}

static void stored_positions_with_other_shape(void **state)
{
    tiny_options opt = { .positions = true,
                         .reshape = "decoder.model.decoder.embed_positions.weights",
                         .reshape_dim0 = 7 };
    expect_broken(*state, &opt, DGXM_ERR_FORMAT, "embed_positions.weights", "expected [64, 16]");
}

static void rewrite_model_type(const char *dir, const char *type)
{
    tiny_options opt = { 0 };
    assert_true(tiny_checkpoint_write(dir, &opt) > 0);
    char *cfg = strdup(tiny_config_json(&opt));
    char *at = strstr(cfg, "\"musicgen\"");
    assert_non_null(at);
    char *text = NULL;
    assert_true(asprintf(&text, "%.*s\"%s\"%s", (int)(at - cfg), cfg, type,
                         at + strlen("\"musicgen\"")) > 0);
    assert_int_equal(test_write_file(dir, "config.json", text, strlen(text)), 0);
    free(text);
    free(cfg);
}

static void unknown_model_type(void **state)
{
    rewrite_model_type(*state, "bark");
    expect_open_error(*state, DGXM_ERR_UNSUPPORTED, "config.json: model_type", "bark",
                      "unknown model type", NULL);
}

static void melody_is_not_supported(void **state)
{
    rewrite_model_type(*state, "musicgen_melody");
    expect_open_error(*state, DGXM_ERR_UNSUPPORTED, "config.json: model_type", "musicgen_melody",
                      "not supported", NULL);
}

static void shard_listed_in_index_but_missing(void **state)
{
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    char *shard = NULL;
    assert_true(asprintf(&shard, "%s/model-00002-of-00002.safetensors", (char *)*state) > 0);
    unlink(shard);
    expect_open_error(*state, DGXM_ERR_IO, "model.safetensors.index.json", shard, "weight_map.",
                      "missing", NULL);
    free(shard);
}

static void index_names_a_tensor_its_shard_lacks(void **state)
{
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    static const char index[] =
        "{\"metadata\": {}, \"weight_map\": {\"text_encoder.shared.weight\": "
        "\"model-00001-of-00002.safetensors\", \"ghost.weight\": "
        "\"model-00001-of-00002.safetensors\"}}";
    assert_int_equal(
        test_write_file(*state, "model.safetensors.index.json", index, sizeof index - 1), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "model.safetensors.index.json", "ghost.weight",
                      "not in shard", NULL);
}

static void shard_holds_a_tensor_the_index_omits(void **state)
{
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    static const char index[] = "{\"weight_map\": {\"text_encoder.shared.weight\": "
                                "\"model-00001-of-00002.safetensors\"}}";
    assert_int_equal(
        test_write_file(*state, "model.safetensors.index.json", index, sizeof index - 1), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "model.safetensors.index.json", "does not list it",
                      NULL);
}

static void index_shard_name_must_stay_in_directory(void **state)
{
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    static const char index[] =
        "{\"weight_map\": {\"text_encoder.shared.weight\": \"../elsewhere.safetensors\"}}";
    assert_int_equal(
        test_write_file(*state, "model.safetensors.index.json", index, sizeof index - 1), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "weight_map.text_encoder.shared.weight",
                      "not a file name", NULL);
}

static void index_without_weight_map(void **state)
{
    tiny_options opt = { .sharded = true };
    assert_true(tiny_checkpoint_write(*state, &opt) > 0);
    assert_int_equal(test_write_file(*state, "model.safetensors.index.json", "{}", 2), 0);
    expect_open_error(*state, DGXM_ERR_FORMAT, "model.safetensors.index.json",
                      "weight_map: missing", NULL);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(tiny_f32_checkpoint_opens),
        DIR_TEST(legacy_weight_norm_names_open),
        DIR_TEST(mixed_weight_norm_names_open),
        DIR_TEST(half_and_bfloat_checkpoints_open),
        DIR_TEST(stereo_checkpoint_has_interleaved_codebooks),
        DIR_TEST(sharded_and_single_file_agree),
        DIR_TEST(optional_tensors_are_checked_when_stored),
        DIR_TEST(tied_copy_alone_serves_as_embedding),
        DIR_TEST(same_width_needs_no_projection),
        DIR_TEST(hub_snapshot_symlinks_open),
        DIR_TEST(missing_directory),
        DIR_TEST(directory_is_a_file),
        DIR_TEST(missing_config_json),
        DIR_TEST(missing_weights_file),
        DIR_TEST(malformed_config_json),
        DIR_TEST(config_missing_a_section),
        DIR_TEST(malformed_generation_config),
        DIR_TEST(truncated_weights_file),
        DIR_TEST(weights_header_length_past_end),
        DIR_TEST(integer_dtype_where_float_needed),
        DIR_TEST(wrong_shape),
        DIR_TEST(wrong_shape_in_codec_conv),
        DIR_TEST(missing_tensor_is_named),
        DIR_TEST(missing_legacy_pair_half_is_named),
        DIR_TEST(stored_encoder_path_must_be_complete),
        DIR_TEST(tied_copy_with_other_shape),
        DIR_TEST(stored_positions_with_other_shape),
        DIR_TEST(unknown_model_type),
        DIR_TEST(melody_is_not_supported),
        DIR_TEST(shard_listed_in_index_but_missing),
        DIR_TEST(index_names_a_tensor_its_shard_lacks),
        DIR_TEST(shard_holds_a_tensor_the_index_omits),
        DIR_TEST(index_shard_name_must_stay_in_directory),
        DIR_TEST(index_without_weight_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
