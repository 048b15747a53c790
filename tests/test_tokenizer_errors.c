/* Every way the tokenizer's input can be wrong gives a non-OK status and a message that names the
 * file and the field (or the text's byte offset) - never a crash. Small inputs are built here:
 * spiece.model bytes with a tiny protobuf writer, tokenizer.json documents with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"
#include "tokenizer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny protobuf writer ---- */

typedef struct bytes {
    uint8_t data[4096];
    size_t len;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_varint(bytes *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void put_len_field(bytes *b, uint32_t number, const void *p, size_t n)
{
    put_varint(b, (uint64_t)number << 3 | 2);
    put_varint(b, n);
    put(b, p, n);
}

static void put_varint_field(bytes *b, uint32_t number, uint64_t v)
{
    put_varint(b, (uint64_t)number << 3);
    put_varint(b, v);
}

static void put_piece(bytes *model, const char *text, float score, int type)
{
    bytes p = { .len = 0 };
    put_len_field(&p, 1, text, strlen(text));
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    put_varint(&p, 2 << 3 | 5);
    for (int i = 0; i < 4; i++) {
        uint8_t c = (uint8_t)(bits >> (8 * i));
        put(&p, &c, 1);
    }
    if (type != 1)
        put_varint_field(&p, 3, (uint64_t)type);
    put_len_field(model, 1, p.data, p.len);
}

/* <unk> </s> <pad> "▁a" "a" "b", unigram unless model_type says otherwise, no charsmap. */
static void tiny_model(bytes *m, int model_type)
{
    m->len = 0;
    put_piece(m, "<unk>", 0.0f, 2);
    put_piece(m, "</s>", 0.0f, 3);
    put_piece(m, "<pad>", 0.0f, 3);
    put_piece(m,
              "\xE2\x96\x81"
              "a",
              -1.0f, 1);
    put_piece(m, "a", -2.0f, 1);
    put_piece(m, "b", -3.0f, 1);
    bytes t = { .len = 0 };
    put_varint_field(&t, 3, (uint64_t)model_type);
    put_varint_field(&t, 40, 0); /* unk_id */
    put_varint_field(&t, 42, 1); /* eos_id */
    put_len_field(m, 2, t.data, t.len);
}

/* ---- helpers ---- */

/* The load failed with code and the message holds every needle. */
static void expect_failure(dgxm_tokenizer *tok, const dgxm_error *err, dgxm_status code,
                           const char *needle1, const char *needle2)
{
    if (tok || err->status != code || !strstr(err->message, needle1) ||
        (needle2 && !strstr(err->message, needle2)))
        fprintf(stderr, "status %d (want %d), message: %s\n", err->status, code, err->message);
    dgxm_tokenizer_free(tok);
    assert_null(tok);
    assert_int_equal(err->status, code);
    assert_non_null(strstr(err->message, needle1));
    if (needle2)
        assert_non_null(strstr(err->message, needle2));
}

static dgxm_tokenizer *parse_spm(const bytes *b, dgxm_error *err)
{
    dgxm_error_clear(err);
    return dgxm_tokenizer_parse_spm("spiece.model", b->data, b->len, err);
}

/* A minimal valid tokenizer.json as a jansson object, for tests to break. */
static json_t *tiny_json(void)
{
    json_error_t je;
    json_t *j = json_loads(
        "{\"version\": \"1.0\", \"added_tokens\": [],"
        " \"normalizer\": null,"
        " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\","
        "                     \"prepend_scheme\": \"always\", \"split\": true},"
        " \"post_processor\": null,"
        " \"model\": {\"type\": \"Unigram\", \"unk_id\": 0,"
        "           \"vocab\": [[\"<unk>\", 0.0], [\"\\u2581a\", -1.0], [\"a\", -2.0]]}}",
        0, &je);
    assert_non_null(j);
    return j;
}

static dgxm_tokenizer *parse_json_doc(json_t *doc, dgxm_error *err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(text);
    dgxm_error_clear(err);
    dgxm_tokenizer *tok = dgxm_tokenizer_parse_json("tokenizer.json", text, strlen(text), err);
    free(text);
    return tok;
}

static json_t *model_of(json_t *doc)
{
    return json_object_get(doc, "model");
}

/* ---- directories ---- */

static void missing_directory(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load("/nonexistent/dgxm-checkpoint", &err), &err, DGXM_ERR_IO,
                   "/nonexistent/dgxm-checkpoint", NULL);
}

static void directory_without_either_file(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load(dir, &err), &err, DGXM_ERR_IO, "tokenizer.json",
                   "spiece.model");
    assert_non_null(strstr(err.message, dir));
    test_remove_tree(dir);
    free(dir);
}

static void forced_file_missing(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    assert_int_equal(test_write_file(dir, "tokenizer.json", "{}", 2), 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load_dir(dir, DGXM_TOKENIZER_SPM, &err), &err, DGXM_ERR_IO,
                   "spiece.model", "missing");
    test_remove_tree(dir);
    free(dir);
}

/* ---- spiece.model ---- */

static void tiny_spiece_model_loads(void **state)
{
    (void)state;
    bytes m;
    tiny_model(&m, 1);
    dgxm_error err;
    dgxm_tokenizer *tok = parse_spm(&m, &err);
    assert_non_null(tok);
    int32_t *ids = NULL;
    size_t count = 0;
    assert_int_equal(dgxm_tokenizer_encode(tok, "a ab <pad>", 10, &ids, &count, &err), DGXM_OK);
    const int32_t want[] = { 3, 3, 5, 2, 1 }; /* ▁a ▁a b <pad> </s> */
    assert_int_equal(count, 5);
    assert_memory_equal(ids, want, sizeof want);
    free(ids);
    assert_int_equal(dgxm_tokenizer_vocab_size(tok), 6 + 100);
    dgxm_tokenizer_free(tok);
}

static void spiece_model_truncated(void **state)
{
    (void)state;
    size_t len = 0;
    char *full = test_read_file(test_fixture_path("tokenizer/spiece.model"), &len);
    assert_non_null(full);
    char *dir = test_make_temp_dir();
    assert_int_equal(test_write_file(dir, "spiece.model", full, len / 2), 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load(dir, &err), &err, DGXM_ERR_FORMAT, "spiece.model",
                   "runs past the end");
    assert_non_null(strstr(err.message, "normalizer_spec"));
    /* every shorter prefix fails cleanly or loads (a cut between fields is a valid message) */
    for (size_t cut = 0; cut < 64; cut++) {
        dgxm_error_clear(&err);
        dgxm_tokenizer_free(dgxm_tokenizer_parse_spm("spiece.model", full, cut, &err));
    }
    test_remove_tree(dir);
    free(dir);
    free(full);
}

static void spiece_model_bad_varint(void **state)
{
    (void)state;
    bytes m = { .len = 0 };
    put_varint(&m, 1 << 3 | 2);
    for (int i = 0; i < 11; i++)
        put(&m, "\x80", 1);
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT, "spiece.model: pieces", "varint");
}

static void spiece_model_length_past_end(void **state)
{
    (void)state;
    bytes m;
    tiny_model(&m, 1);
    put_varint(&m, 3 << 3 | 2); /* normalizer_spec claiming 200 bytes, with 1 there */
    put_varint(&m, 200);
    put(&m, "x", 1);
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT, "spiece.model: normalizer_spec",
                   "length 200 runs past the end");
}

static void spiece_model_piece_not_utf8(void **state)
{
    (void)state;
    bytes m;
    tiny_model(&m, 1);
    put_piece(&m, "\xC0\xAF", -1.0f, 1);
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT, "spiece.model: pieces[6].piece",
                   "UTF-8");
}

static void spiece_model_wrong_wire_type(void **state)
{
    (void)state;
    bytes m = { .len = 0 };
    put_varint_field(&m, 2, 7); /* trainer_spec as a varint */
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT, "spiece.model: trainer_spec",
                   "wire type");
}

static void spiece_model_not_unigram(void **state)
{
    (void)state;
    bytes m;
    tiny_model(&m, 2);
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_UNSUPPORTED,
                   "spiece.model: trainer_spec.model_type", "BPE");
}

static void spiece_model_without_pieces(void **state)
{
    (void)state;
    bytes m = { .len = 0 };
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT, "spiece.model: pieces", "no pieces");
}

static void spiece_model_charsmap_trie_past_end(void **state)
{
    (void)state;
    bytes m, n = { .len = 0 };
    tiny_model(&m, 1);
    const uint8_t blob[] = { 0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4 }; /* trie of 256 bytes, 4 there */
    put_len_field(&n, 2, blob, sizeof blob);
    put_len_field(&m, 3, n.data, n.len);
    dgxm_error err;
    expect_failure(parse_spm(&m, &err), &err, DGXM_ERR_FORMAT,
                   "spiece.model: normalizer_spec.precompiled_charsmap", "trie size 256");
}

/* ---- tokenizer.json ---- */

static void tiny_json_loads(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_tokenizer *tok = parse_json_doc(tiny_json(), &err);
    assert_non_null(tok);
    dgxm_tokenizer_free(tok);
}

static void json_malformed(void **state)
{
    (void)state;
    const char *text = "{\"model\": {\"vocab\": [[\"a\", -1.0],]}}";
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_parse_json("tokenizer.json", text, strlen(text), &err), &err,
                   DGXM_ERR_FORMAT, "tokenizer.json", "malformed JSON at line 1");
}

static void json_missing_vocab(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_del(model_of(doc), "vocab");
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT, "tokenizer.json",
                   "model.vocab: missing");
}

static void json_vocab_wrong_type(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(model_of(doc), "vocab", json_string("a b c"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT, "tokenizer.json",
                   "model.vocab: is a string");
}

static void json_vocab_entry_wrong_type(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_array_set_new(json_object_get(model_of(doc), "vocab"), 1, json_pack("[s,s]", "a", "x"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT, "tokenizer.json",
                   "model.vocab[1]");
}

static void json_model_not_unigram(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(model_of(doc), "type", json_string("BPE"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_UNSUPPORTED, "tokenizer.json",
                   "model.type: \"BPE\"");
}

static void json_unk_id_out_of_range(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(model_of(doc), "unk_id", json_integer(3));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT, "tokenizer.json",
                   "model.unk_id");
}

static json_t *precompiled(const char *base64)
{
    return json_pack("{s:s,s:s}", "type", "Precompiled", "precompiled_charsmap", base64);
}

static void json_bad_base64_charsmap(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "normalizer", precompiled("AAA*AAAA"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT,
                   "tokenizer.json: normalizer.precompiled_charsmap", "base64");
}

static void json_charsmap_trie_past_end(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "normalizer", precompiled("AAEAAAECAwQ=")); /* 256-byte trie, 4 */
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT,
                   "tokenizer.json: normalizer.precompiled_charsmap", "trie size 256");
}

static void json_unknown_normalizer_type(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "normalizer",
                        json_pack("{s:s,s:[{s:s,s:b,s:b},{s:s}]}", "type", "Sequence",
                                  "normalizers", "type", "Strip", "strip_left", 0, "strip_right", 1,
                                  "type", "NFKC"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_UNSUPPORTED,
                   "tokenizer.json: normalizer.normalizers[1]", "\"NFKC\"");
}

static void json_unknown_pre_tokenizer_type(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "pre_tokenizer", json_pack("{s:s}", "type", "ByteLevel"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_UNSUPPORTED,
                   "tokenizer.json: pre_tokenizer", "\"ByteLevel\"");
}

static void json_unsupported_regex(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "normalizer",
                        json_pack("{s:s,s:{s:s},s:s}", "type", "Replace", "pattern", "Regex",
                                  "[ab]+", "content", "x"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_UNSUPPORTED,
                   "tokenizer.json: normalizer.pattern", "[ab]+");
}

static void json_template_without_special_entry(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(doc, "post_processor",
                        json_pack("{s:s,s:[{s:{s:s}},{s:{s:s}}],s:{}}", "type",
                                  "TemplateProcessing", "single", "Sequence", "id", "A",
                                  "SpecialToken", "id", "</s>", "special_tokens"));
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT,
                   "tokenizer.json: post_processor.single[1]", "</s>");
}

static void json_metaspace_contradiction(void **state)
{
    (void)state;
    json_t *doc = tiny_json();
    json_object_set_new(json_object_get(doc, "pre_tokenizer"), "add_prefix_space", json_false());
    dgxm_error err;
    expect_failure(parse_json_doc(doc, &err), &err, DGXM_ERR_FORMAT,
                   "tokenizer.json: pre_tokenizer", "add_prefix_space");
}

/* ---- the two files together ---- */

/* A copy of the fixture directory whose tokenizer.json has been changed by edit. */
static char *fixture_copy(void (*edit)(json_t *doc))
{
    char *dir = test_make_temp_dir();
    assert_int_equal(test_copy_dir(test_fixture_path("tokenizer"), dir), 0);
    json_error_t je;
    json_t *doc = json_load_file(test_fixture_path("tokenizer/tokenizer.json"), 0, &je);
    assert_non_null(doc);
    edit(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(test_write_file(dir, "tokenizer.json", text, strlen(text)), 0);
    free(text);
    return dir;
}

static void change_score(json_t *doc)
{
    json_t *entry = json_array_get(json_object_get(model_of(doc), "vocab"), 17);
    json_array_set_new(entry, 1, json_real(json_number_value(json_array_get(entry, 1)) + 0.01));
}

static void change_charsmap(json_t *doc)
{
    json_object_set_new(doc, "normalizer", precompiled("BAAAAAAAAAA="));
}

static void files_disagree_on_a_score(void **state)
{
    (void)state;
    char *dir = fixture_copy(change_score);
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load(dir, &err), &err, DGXM_ERR_FORMAT, "spiece.model",
                   "tokenizer.json");
    assert_non_null(strstr(err.message, "piece 17"));
    assert_non_null(strstr(err.message, dir));
    test_remove_tree(dir);
    free(dir);
}

static void files_disagree_on_the_charsmap(void **state)
{
    (void)state;
    char *dir = fixture_copy(change_charsmap);
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load(dir, &err), &err, DGXM_ERR_FORMAT, "spiece.model",
                   "precompiled_charsmap");
    assert_non_null(strstr(err.message, "tokenizer.json"));
    /* either file alone still loads */
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = dgxm_tokenizer_load_dir(dir, DGXM_TOKENIZER_SPM, &err);
    assert_non_null(tok);
    dgxm_tokenizer_free(tok);
    test_remove_tree(dir);
    free(dir);
}

static void bad_extra_ids_in_config(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    assert_int_equal(test_copy_dir(test_fixture_path("tokenizer"), dir), 0);
    const char *config = "{\"extra_ids\": \"many\"}";
    assert_int_equal(test_write_file(dir, "tokenizer_config.json", config, strlen(config)), 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    expect_failure(dgxm_tokenizer_load_dir(dir, DGXM_TOKENIZER_SPM, &err), &err, DGXM_ERR_FORMAT,
                   "tokenizer_config.json", "extra_ids");
    test_remove_tree(dir);
    free(dir);
}

/* ---- text ---- */

static void expect_bad_text(const char *text, size_t len, size_t offset, const char *why)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok =
        dgxm_tokenizer_load_json(test_fixture_path("tokenizer/tokenizer.json"), &err);
    assert_non_null(tok);
    int32_t *ids = (int32_t *)1;
    size_t count = 7;
    assert_int_equal(dgxm_tokenizer_encode(tok, text, len, &ids, &count, &err),
                     DGXM_ERR_INVALID_ARG);
    assert_null(ids);
    assert_int_equal(count, 0);
    char want[64];
    snprintf(want, sizeof want, "byte offset %zu (%s)", offset, why);
    if (!strstr(err.message, want))
        fprintf(stderr, "message: %s\nwanted: %s\n", err.message, want);
    assert_non_null(strstr(err.message, want));
    dgxm_tokenizer_free(tok);
}

static void text_overlong(void **state)
{
    (void)state;
    expect_bad_text("ab\xC0\xAF", 4, 2, "overlong encoding");
    expect_bad_text("\xE0\x80\xAF", 3, 0, "overlong encoding");
    expect_bad_text("x\xF0\x80\x80\xAF", 5, 1, "overlong encoding");
}

static void text_surrogate(void **state)
{
    (void)state;
    expect_bad_text("rock \xED\xA0\x80", 8, 5, "UTF-16 surrogate");
}

static void text_truncated_sequence(void **state)
{
    (void)state;
    expect_bad_text("jazz \xE2\x82", 7, 5, "truncated sequence");
    expect_bad_text("\xE2\x82"
                    "A",
                    3, 0, "truncated sequence");
    expect_bad_text("\xF0\x9F\x8E", 3, 0, "truncated sequence");
}

static void text_stray_continuation(void **state)
{
    (void)state;
    expect_bad_text("\x80"
                    "abc",
                    4, 0, "stray continuation byte");
    expect_bad_text("abc\xBF", 4, 3, "stray continuation byte");
}

static void text_beyond_unicode(void **state)
{
    (void)state;
    expect_bad_text("\xF4\x90\x80\x80", 4, 0, "code point past U+10FFFF");
    expect_bad_text("\xF8\x88\x80\x80\x80", 5, 0, "byte never used in UTF-8");
}

/* Every failure path also works without a dgxm_error to fill. */
static void null_error_is_allowed(void **state)
{
    (void)state;
    bytes m;
    tiny_model(&m, 2);
    assert_null(dgxm_tokenizer_parse_spm("spiece.model", m.data, m.len, NULL));
    assert_null(dgxm_tokenizer_parse_spm("spiece.model", m.data, 7, NULL));
    const char *bad =
        "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]},"
        " \"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAEAAAECAwQ=\"}}";
    assert_null(dgxm_tokenizer_parse_json("tokenizer.json", bad, strlen(bad), NULL));
    assert_null(dgxm_tokenizer_load("/nonexistent/dgxm-checkpoint", NULL));
    tiny_model(&m, 1);
    dgxm_tokenizer *tok = dgxm_tokenizer_parse_spm("spiece.model", m.data, m.len, NULL);
    assert_non_null(tok);
    int32_t *ids = NULL;
    size_t count = 0;
    assert_int_equal(dgxm_tokenizer_encode(tok, "\xC0\xAF", 2, &ids, &count, NULL),
                     DGXM_ERR_INVALID_ARG);
    dgxm_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_directory),
        cmocka_unit_test(directory_without_either_file),
        cmocka_unit_test(forced_file_missing),
        cmocka_unit_test(tiny_spiece_model_loads),
        cmocka_unit_test(spiece_model_truncated),
        cmocka_unit_test(spiece_model_bad_varint),
        cmocka_unit_test(spiece_model_length_past_end),
        cmocka_unit_test(spiece_model_piece_not_utf8),
        cmocka_unit_test(spiece_model_wrong_wire_type),
        cmocka_unit_test(spiece_model_not_unigram),
        cmocka_unit_test(spiece_model_without_pieces),
        cmocka_unit_test(spiece_model_charsmap_trie_past_end),
        cmocka_unit_test(tiny_json_loads),
        cmocka_unit_test(json_malformed),
        cmocka_unit_test(json_missing_vocab),
        cmocka_unit_test(json_vocab_wrong_type),
        cmocka_unit_test(json_vocab_entry_wrong_type),
        cmocka_unit_test(json_model_not_unigram),
        cmocka_unit_test(json_unk_id_out_of_range),
        cmocka_unit_test(json_bad_base64_charsmap),
        cmocka_unit_test(json_charsmap_trie_past_end),
        cmocka_unit_test(json_unknown_normalizer_type),
        cmocka_unit_test(json_unknown_pre_tokenizer_type),
        cmocka_unit_test(json_unsupported_regex),
        cmocka_unit_test(json_template_without_special_entry),
        cmocka_unit_test(json_metaspace_contradiction),
        cmocka_unit_test(files_disagree_on_a_score),
        cmocka_unit_test(files_disagree_on_the_charsmap),
        cmocka_unit_test(bad_extra_ids_in_config),
        cmocka_unit_test(text_overlong),
        cmocka_unit_test(text_surrogate),
        cmocka_unit_test(text_truncated_sequence),
        cmocka_unit_test(text_stray_continuation),
        cmocka_unit_test(text_beyond_unicode),
        cmocka_unit_test(null_error_is_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
