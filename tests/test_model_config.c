/* config.json / generation_config.json: a real-shaped musicgen-small config reads as transformers
 * reads it, absent keys take the HF class defaults, and each bad key is refused with a message
 * naming the file and the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model_config.h"
#include "test_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The musicgen-small config.json seed of the fuzz corpus (values from the reference, §1.3). */
static char *small_config(void)
{
    char *text =
        test_read_file(DGXM_SOURCE_DIR "/tests/fuzz/corpus/config/musicgen-small.json", NULL);
    assert_non_null(text);
    return text;
}

/* small_config with section.key set to value (NULL: removed); section "" is the top level. */
static char *edited(const char *section, const char *key, json_t *value)
{
    char *text = small_config();
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(root);
    json_t *obj = *section ? json_object_get(root, section) : root;
    if (value)
        json_object_set_new(obj, key, value);
    else
        json_object_del(obj, key);
    char *out = json_dumps(root, 0);
    json_decref(root);
    return out;
}

static dgxm_status parse(const char *text, dgxm_model_config *cfg, dgxm_error *err)
{
    dgxm_error_clear(err);
    return dgxm_model_config_parse("ckpt/config.json", text, strlen(text), cfg, err);
}

/* Parsing text fails with code and the message starts with "ckpt/config.json: " + path and holds
 * detail. Frees text. */
static void expect_error(char *text, dgxm_status code, const char *path, const char *detail)
{
    dgxm_model_config cfg;
    dgxm_error err;
    dgxm_status s = parse(text, &cfg, &err);
    free(text);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "ckpt/config.json: %s", path);
    bool ok = s == code && err.status == code && !strncmp(err.message, prefix, strlen(prefix)) &&
              (!detail || strstr(err.message, detail));
    if (!ok)
        print_error("status %d (want %d) message: %s\n", s, code, err.message);
    assert_true(ok);
}

static void musicgen_small_reads_as_hf(void **state)
{
    (void)state;
    char *text = small_config();
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_false(c.stereo);
    assert_int_equal(c.t5.vocab_size, 32128);
    assert_int_equal(c.t5.d_model, 768);
    assert_int_equal(c.t5.d_kv, 64);
    assert_int_equal(c.t5.num_heads, 12);
    assert_int_equal(c.t5.num_layers, 12);
    assert_int_equal(c.t5.d_ff, 3072);
    assert_int_equal(c.t5.num_buckets, 32);
    assert_int_equal(c.t5.max_distance, 128);
    assert_true(c.t5.layer_norm_eps == 1e-6);
    assert_false(c.t5.gated_gelu);
    assert_int_equal(c.decoder.hidden_size, 1024);
    assert_int_equal(c.decoder.num_layers, 24);
    assert_int_equal(c.decoder.num_heads, 16);
    assert_int_equal(c.decoder.ffn_dim, 4096);
    assert_int_equal(c.decoder.vocab_size, 2048);
    assert_int_equal(c.decoder.num_codebooks, 4);
    assert_int_equal(c.decoder.audio_channels, 1);
    assert_int_equal(c.decoder.max_position_embeddings, 2048);
    assert_int_equal(c.decoder.pad_token_id, 2048);
    assert_int_equal(c.decoder.bos_token_id, 2048);
    assert_false(c.decoder.scale_embedding);
    const dgxm_encodec_config *e = &c.encodec;
    assert_int_equal(e->sampling_rate, 32000);
    assert_int_equal(e->num_filters, 64);
    assert_int_equal(e->hidden_size, 128);
    assert_int_equal(e->codebook_size, 2048);
    assert_int_equal(e->codebook_dim, 128);
    assert_int_equal(e->num_ratios, 4);
    assert_int_equal(e->upsampling_ratios[0], 8);
    assert_int_equal(e->upsampling_ratios[3], 4);
    assert_int_equal(e->hop_length, 640);
    assert_true(e->frame_rate == 50.0);
    assert_int_equal(e->num_quantizers, 4); /* int(1000 * 2.2 // (50 * 11 bits)) */
    assert_true(e->target_bandwidth == 2.2);
    assert_int_equal(e->num_lstm_layers, 2);
    assert_false(e->use_causal_conv);
    assert_false(e->use_conv_shortcut);
    assert_true(e->pad_reflect);
    assert_false(e->normalize);
    /* generation defaults when generation_config.json is not read */
    assert_false(c.generation.do_sample);
    assert_true(c.generation.guidance_scale == 1.0);
    assert_int_equal(c.generation.top_k, 0);
    assert_int_equal(c.generation.decoder_start_token_id, 2048);
}

static void stereo_doubles_the_codebooks(void **state)
{
    (void)state;
    char *text = test_read_file(
        DGXM_SOURCE_DIR "/tests/fuzz/corpus/config/musicgen-stereo-small.json", NULL);
    assert_non_null(text);
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_true(c.stereo);
    assert_int_equal(c.decoder.num_codebooks, 8);
}

static void absent_keys_take_hf_defaults(void **state)
{
    (void)state;
    /* EncodecConfig defaults are the 24 kHz model: 32 quantizers of 1024 codes */
    static const char text[] =
        "{\"model_type\": \"musicgen\", \"text_encoder\": {\"model_type\": \"t5\"},"
        " \"audio_encoder\": {\"model_type\": \"encodec\", \"codebook_dim\": null},"
        " \"decoder\": {\"vocab_size\": 1024, \"num_codebooks\": 32, \"pad_token_id\": 1024,"
        " \"bos_token_id\": 1024}}";
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    assert_int_equal(c.t5.vocab_size, 32128); /* T5Config */
    assert_int_equal(c.t5.d_model, 512);
    assert_int_equal(c.t5.d_kv, 64);
    assert_int_equal(c.t5.d_ff, 2048);
    assert_int_equal(c.t5.num_layers, 6);
    assert_int_equal(c.t5.num_heads, 8);
    assert_int_equal(c.t5.num_buckets, 32);
    assert_int_equal(c.t5.max_distance, 128);
    assert_false(c.t5.gated_gelu);
    assert_int_equal(c.decoder.hidden_size, 1024); /* MusicgenDecoderConfig */
    assert_int_equal(c.decoder.num_layers, 24);
    assert_int_equal(c.decoder.num_heads, 16);
    assert_int_equal(c.decoder.ffn_dim, 4096);
    assert_int_equal(c.decoder.max_position_embeddings, 2048);
    assert_int_equal(c.decoder.audio_channels, 1);
    assert_int_equal(c.decoder.pad_token_id, 1024);
    assert_int_equal(c.encodec.sampling_rate, 24000); /* EncodecConfig */
    assert_int_equal(c.encodec.num_filters, 32);
    assert_int_equal(c.encodec.hidden_size, 128);
    assert_int_equal(c.encodec.codebook_dim, 128); /* null: hidden_size */
    assert_int_equal(c.encodec.codebook_size, 1024);
    assert_int_equal(c.encodec.hop_length, 320); /* [8, 5, 4, 2] */
    assert_true(c.encodec.frame_rate == 75.0);
    assert_int_equal(c.encodec.num_quantizers, 32); /* 24000 // (75 * 10 bits) */
    assert_true(c.encodec.use_causal_conv);
    assert_true(c.encodec.use_conv_shortcut);
    assert_true(c.encodec.pad_reflect);
    assert_int_equal(c.encodec.num_lstm_layers, 2);
    assert_int_equal(c.encodec.compress, 2);
    assert_int_equal(c.encodec.dilation_growth_rate, 2);
}

static void quantizers_follow_the_last_bandwidth(void **state)
{
    (void)state;
    /* HF reads target_bandwidths[-1], not the largest entry */
    char *text = edited("audio_encoder", "target_bandwidths", json_pack("[f, f]", 6.0, 1.5));
    dgxm_model_config c;
    dgxm_error err;
    dgxm_status s = parse(text, &c, &err);
    free(text);
    assert_int_equal(s, DGXM_ERR_FORMAT); /* 1500 // 550 = 2 quantizers: 4 codebooks disagree */
    assert_non_null(strstr(err.message, "decoder.num_codebooks: 4"));
    assert_non_null(strstr(err.message, "(2)"));
}

static void quantizers_count_codebook_bits(void **state)
{
    (void)state;
    /* 6 kbps at 50 frames/s: 12 quantizers of 1024 codes (10 bits) but 10 of 2048 (11 bits) */
    char *text = small_config();
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_t *codec = json_object_get(root, "audio_encoder");
    json_t *dec = json_object_get(root, "decoder");
    json_object_set_new(codec, "target_bandwidths", json_pack("[f]", 6.0));
    json_object_set_new(dec, "num_codebooks", json_integer(10));
    text = json_dumps(root, 0);
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_int_equal(c.encodec.num_quantizers, 10);
    json_object_set_new(codec, "codebook_size", json_integer(1024));
    json_object_set_new(dec, "vocab_size", json_integer(1024));
    json_object_set_new(dec, "pad_token_id", json_integer(1024));
    json_object_set_new(dec, "bos_token_id", json_integer(1024));
    json_object_set_new(dec, "num_codebooks", json_integer(12));
    text = json_dumps(root, 0);
    json_decref(root);
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_int_equal(c.encodec.num_quantizers, 12);
}

static void frame_rate_rounds_up(void **state)
{
    (void)state;
    char *text = edited("audio_encoder", "sampling_rate", json_integer(31900));
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_true(c.encodec.frame_rate == 50.0); /* ceil(31900 / 640) = ceil(49.84) */
    assert_int_equal(c.encodec.num_quantizers, 4);
}

static void model_type_missing(void **state)
{
    (void)state;
    expect_error(edited("", "model_type", NULL), DGXM_ERR_FORMAT, "model_type: missing", NULL);
}

static void melody_refused_clearly(void **state)
{
    (void)state;
    expect_error(edited("", "model_type", json_string("musicgen_melody")), DGXM_ERR_UNSUPPORTED,
                 "model_type", "MusicGen-Melody");
}

static void sub_config_type_checked(void **state)
{
    (void)state;
    expect_error(edited("text_encoder", "model_type", NULL), DGXM_ERR_FORMAT,
                 "text_encoder.model_type: missing", NULL);
    expect_error(edited("text_encoder", "model_type", json_string("bert")), DGXM_ERR_UNSUPPORTED,
                 "text_encoder.model_type", "bert");
    expect_error(edited("audio_encoder", "model_type", json_string("dac")), DGXM_ERR_UNSUPPORTED,
                 "audio_encoder.model_type", "dac");
    expect_error(edited("decoder", "model_type", json_string("musicgen_melody_decoder")),
                 DGXM_ERR_UNSUPPORTED, "decoder.model_type", NULL);
}

static void section_missing_or_wrong_type(void **state)
{
    (void)state;
    expect_error(edited("", "audio_encoder", NULL), DGXM_ERR_FORMAT, "audio_encoder: missing",
                 NULL);
    expect_error(edited("", "decoder", json_string("x")), DGXM_ERR_FORMAT, "decoder",
                 "not an object");
}

static void wrong_json_types(void **state)
{
    (void)state;
    expect_error(edited("decoder", "hidden_size", json_real(1024.0)), DGXM_ERR_FORMAT,
                 "decoder.hidden_size", "not an integer");
    expect_error(edited("decoder", "scale_embedding", json_integer(0)), DGXM_ERR_FORMAT,
                 "decoder.scale_embedding", "not true or false");
    expect_error(edited("text_encoder", "layer_norm_epsilon", json_string("1e-6")), DGXM_ERR_FORMAT,
                 "text_encoder.layer_norm_epsilon", "not a number");
    expect_error(edited("audio_encoder", "pad_mode", json_integer(1)), DGXM_ERR_FORMAT,
                 "audio_encoder.pad_mode", "not a string");
    expect_error(edited("audio_encoder", "upsampling_ratios", json_pack("[i, s]", 8, "5")),
                 DGXM_ERR_FORMAT, "audio_encoder.upsampling_ratios[1]", NULL);
    expect_error(edited("audio_encoder", "target_bandwidths", json_array()), DGXM_ERR_FORMAT,
                 "audio_encoder.target_bandwidths", NULL);
}

static void sizes_out_of_range(void **state)
{
    (void)state;
    expect_error(edited("decoder", "hidden_size", json_integer(0)), DGXM_ERR_FORMAT,
                 "decoder.hidden_size", "out of range");
    expect_error(edited("decoder", "num_hidden_layers", json_integer(1000000)), DGXM_ERR_FORMAT,
                 "decoder.num_hidden_layers", "out of range");
    expect_error(edited("text_encoder", "d_model", json_integer(-768)), DGXM_ERR_FORMAT,
                 "text_encoder.d_model", "out of range");
    expect_error(edited("text_encoder", "vocab_size", json_integer(1LL << 40)), DGXM_ERR_FORMAT,
                 "text_encoder.vocab_size", "out of range");
    expect_error(edited("decoder", "audio_channels", json_integer(3)), DGXM_ERR_FORMAT,
                 "decoder.audio_channels", "out of range");
    expect_error(edited("audio_encoder", "upsampling_ratios", json_pack("[i, i]", 8, 0)),
                 DGXM_ERR_FORMAT, "audio_encoder.upsampling_ratios[1]", NULL);
    expect_error(edited("text_encoder", "layer_norm_epsilon", json_real(0.0)), DGXM_ERR_FORMAT,
                 "text_encoder.layer_norm_epsilon", "out of range");
}

static void hostile_sizes_cannot_multiply_up(void **state)
{
    (void)state;
    char *text = small_config();
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_t *dec = json_object_get(root, "decoder");
    json_object_set_new(dec, "hidden_size", json_integer(16384));
    json_object_set_new(dec, "num_attention_heads", json_integer(128));
    json_object_set_new(dec, "num_hidden_layers", json_integer(256));
    expect_error(json_dumps(root, 0), DGXM_ERR_FORMAT, "decoder.num_hidden_layers", "too large");
    json_decref(root);
}

static void default_special_token_must_fit_vocab(void **state)
{
    (void)state;
    /* pad/bos default to 2048: with 1024 codes that is past the embedding rows */
    static const char text[] =
        "{\"model_type\": \"musicgen\", \"text_encoder\": {\"model_type\": \"t5\"},"
        " \"audio_encoder\": {\"model_type\": \"encodec\"},"
        " \"decoder\": {\"vocab_size\": 1024, \"num_codebooks\": 32}}";
    expect_error(strdup(text), DGXM_ERR_FORMAT, "decoder.pad_token_id", "2048");
}

static void heads_must_divide_width(void **state)
{
    (void)state;
    expect_error(edited("decoder", "num_attention_heads", json_integer(24)), DGXM_ERR_FORMAT,
                 "decoder.num_attention_heads", "does not divide hidden_size 1024");
}

static void vocab_must_match_codebook_size(void **state)
{
    (void)state;
    expect_error(edited("audio_encoder", "codebook_size", json_integer(1024)), DGXM_ERR_FORMAT,
                 "decoder.vocab_size", "2048 differs from audio_encoder.codebook_size 1024");
}

static void codebooks_must_match_quantizers(void **state)
{
    (void)state;
    expect_error(edited("decoder", "num_codebooks", json_integer(8)), DGXM_ERR_FORMAT,
                 "decoder.num_codebooks", "num_quantizers (4)");
}

static void unsupported_choices_are_named(void **state)
{
    (void)state;
    expect_error(edited("decoder", "activation_function", json_string("relu")),
                 DGXM_ERR_UNSUPPORTED, "decoder.activation_function", "relu");
    expect_error(edited("text_encoder", "feed_forward_proj", json_string("gated-silu")),
                 DGXM_ERR_UNSUPPORTED, "text_encoder.feed_forward_proj", "gated-silu");
    expect_error(edited("audio_encoder", "pad_mode", json_string("replicate")),
                 DGXM_ERR_UNSUPPORTED, "audio_encoder.pad_mode", "replicate");
    expect_error(edited("audio_encoder", "norm_type", json_string("time_group_norm")),
                 DGXM_ERR_UNSUPPORTED, "audio_encoder.norm_type", "time_group_norm");
    expect_error(edited("audio_encoder", "codebook_dim", json_integer(64)), DGXM_ERR_UNSUPPORTED,
                 "audio_encoder.codebook_dim", "64");
}

static void gated_gelu_and_constant_padding_accepted(void **state)
{
    (void)state;
    char *text = small_config();
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(json_object_get(root, "text_encoder"), "feed_forward_proj",
                        json_string("gated-gelu"));
    json_object_set_new(json_object_get(root, "audio_encoder"), "pad_mode",
                        json_string("constant"));
    text = json_dumps(root, 0);
    json_decref(root);
    dgxm_model_config c;
    dgxm_error err;
    assert_int_equal(parse(text, &c, &err), DGXM_OK);
    free(text);
    assert_true(c.t5.gated_gelu);
    assert_false(c.encodec.pad_reflect);
}

static void trim_ratio_needs_causal_convs(void **state)
{
    (void)state;
    expect_error(edited("audio_encoder", "trim_right_ratio", json_real(0.5)), DGXM_ERR_FORMAT,
                 "audio_encoder.trim_right_ratio", "use_causal_conv");
}

static void malformed_json(void **state)
{
    (void)state;
    expect_error(strdup("{\"model_type\": \"musicgen\","), DGXM_ERR_FORMAT, "JSON", NULL);
    expect_error(strdup("[]"), DGXM_ERR_FORMAT, "not a JSON object", NULL);
    expect_error(strdup("{\"model_type\": \"musicgen\", \"model_type\": \"musicgen\"}"),
                 DGXM_ERR_FORMAT, "JSON", "duplicate");
}

static void generation_config_reads_and_checks(void **state)
{
    (void)state;
    dgxm_decoder_config dec = { .vocab_size = 2048, .bos_token_id = 2048 };
    dgxm_generation_config g;
    dgxm_error err;
    dgxm_error_clear(&err);
    static const char good[] = "{\"do_sample\": true, \"guidance_scale\": 3.0, \"max_length\": "
                               "1500, \"top_k\": 250, \"temperature\": 0.9, \"top_p\": null, "
                               "\"decoder_start_token_id\": 2048, \"pad_token_id\": 2048}";
    assert_int_equal(dgxm_generation_config_parse("g.json", good, sizeof good - 1, &dec, &g, &err),
                     DGXM_OK);
    assert_true(g.do_sample);
    assert_true(g.guidance_scale == 3.0);
    assert_int_equal(g.max_length, 1500);
    assert_int_equal(g.top_k, 250);
    assert_true(g.temperature == 0.9);
    assert_true(g.top_p == 1.0);
    static const char bad[] = "{\"temperature\": 0}";
    assert_int_equal(dgxm_generation_config_parse("g.json", bad, sizeof bad - 1, &dec, &g, &err),
                     DGXM_ERR_FORMAT);
    assert_non_null(strstr(err.message, "g.json: temperature: 0 is out of range (0, 1000]"));
    dgxm_error_clear(&err);
    static const char token[] = "{\"decoder_start_token_id\": 4096}";
    assert_int_equal(
        dgxm_generation_config_parse("g.json", token, sizeof token - 1, &dec, &g, &err),
        DGXM_ERR_FORMAT);
    assert_non_null(strstr(err.message, "g.json: decoder_start_token_id"));
}

static void load_reads_both_files(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char *text = small_config();
    assert_int_equal(test_write_file(dir, "config.json", text, strlen(text)), 0);
    free(text);
    static const char gen[] = "{\"guidance_scale\": 3.0, \"do_sample\": true}";
    assert_int_equal(test_write_file(dir, "generation_config.json", gen, sizeof gen - 1), 0);
    dgxm_model_config c;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_model_config_load(dir, &c, &err), DGXM_OK);
    assert_true(c.generation.guidance_scale == 3.0);
    assert_int_equal(test_write_file(dir, "config.json", "{", 1), 0);
    assert_int_equal(dgxm_model_config_load(dir, &c, &err), DGXM_ERR_FORMAT);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "/config.json: JSON"));
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(musicgen_small_reads_as_hf),
        cmocka_unit_test(stereo_doubles_the_codebooks),
        cmocka_unit_test(absent_keys_take_hf_defaults),
        cmocka_unit_test(quantizers_follow_the_last_bandwidth),
        cmocka_unit_test(quantizers_count_codebook_bits),
        cmocka_unit_test(frame_rate_rounds_up),
        cmocka_unit_test(model_type_missing),
        cmocka_unit_test(melody_refused_clearly),
        cmocka_unit_test(sub_config_type_checked),
        cmocka_unit_test(section_missing_or_wrong_type),
        cmocka_unit_test(wrong_json_types),
        cmocka_unit_test(sizes_out_of_range),
        cmocka_unit_test(hostile_sizes_cannot_multiply_up),
        cmocka_unit_test(default_special_token_must_fit_vocab),
        cmocka_unit_test(heads_must_divide_width),
        cmocka_unit_test(vocab_must_match_codebook_size),
        cmocka_unit_test(codebooks_must_match_quantizers),
        cmocka_unit_test(unsupported_choices_are_named),
        cmocka_unit_test(gated_gelu_and_constant_padding_accepted),
        cmocka_unit_test(trim_ratio_needs_causal_convs),
        cmocka_unit_test(malformed_json),
        cmocka_unit_test(generation_config_reads_and_checks),
        cmocka_unit_test(load_reads_both_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
