/* Pipeline rules the fixture prompts do not reach, pinned to what Hugging Face tokenizers 0.23
 * gives for the same tokenizer.json (expected ids computed with
 * Tokenizer.from_str(doc).encode(text).ids): Unigram ties and <unk> fusion, byte fallback,
 * repeated pieces, added-token lstrip/rstrip/single_word/normalized, Strip/Replace/Prepend,
 * Metaspace prepend_scheme first/never and split false, template prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tokenizer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META "\xE2\x96\x81" /* U+2581 */

/* ids: 0 <unk>, 1 ▁, 2 a, 3 b, 4 ab, 5 ▁a, 6 c, 7 <x>, 8 <0x41>, 9 <0xC3>, 10 <0xA9>, 11 X */
static const char *const VOCAB =
    "[[\"<unk>\",0.0],[\"\\u2581\",-1.0],[\"a\",-2.0],[\"b\",-2.0],[\"ab\",-4.0],"
    "[\"\\u2581a\",-1.5],[\"c\",-3.0],[\"<x>\",0.0],[\"<0x41>\",-1.0],[\"<0xC3>\",-1.0],"
    "[\"<0xA9>\",-1.0],[\"X\",-1.0]]";

static const char *const METASPACE =
    "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"always\","
    "\"split\":true}";

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fprintf(stderr, "test JSON: %s: %s\n", je.text, text);
    assert_non_null(j);
    return j;
}

/* A tokenizer.json with the given parts (JSON text or NULL for null). */
static dgxm_tokenizer *build(const char *vocab, bool byte_fallback, const char *normalizer,
                             const char *pre_tokenizer, const char *post_processor,
                             const char *added_tokens)
{
    json_t *doc = json_object();
    json_t *model = json_pack("{s:s,s:i,s:o,s:b}", "type", "Unigram", "unk_id", 0, "vocab",
                              parse(vocab ? vocab : VOCAB), "byte_fallback", byte_fallback);
    json_object_set_new(doc, "model", model);
    json_object_set_new(doc, "normalizer", normalizer ? parse(normalizer) : json_null());
    json_object_set_new(doc, "pre_tokenizer", pre_tokenizer ? parse(pre_tokenizer) : json_null());
    json_object_set_new(doc, "post_processor",
                        post_processor ? parse(post_processor) : json_null());
    json_object_set_new(doc, "added_tokens", added_tokens ? parse(added_tokens) : json_array());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = dgxm_tokenizer_parse_json("rules.json", text, strlen(text), &err);
    if (!tok)
        fprintf(stderr, "%s\n", err.message);
    assert_non_null(tok);
    free(text);
    return tok;
}

/* text encodes to the n ids that follow. */
static void expect(const dgxm_tokenizer *tok, const char *text, size_t len, int n, ...)
{
    int32_t *ids = NULL;
    size_t count = 0;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_tokenizer_encode(tok, text, len, &ids, &count, &err), DGXM_OK);
    va_list ap;
    va_start(ap, n);
    bool same = count == (size_t)n;
    int32_t want[16];
    for (int i = 0; i < n && i < 16; i++) {
        want[i] = va_arg(ap, int32_t);
        same = same && ids[i] == want[i];
    }
    va_end(ap);
    if (!same) {
        fprintf(stderr, "\"%.*s\": got", (int)len, text);
        for (size_t i = 0; i < count; i++)
            fprintf(stderr, " %d", (int)ids[i]);
        fprintf(stderr, ", want");
        for (int i = 0; i < n && i < 16; i++)
            fprintf(stderr, " %d", (int)want[i]);
        fprintf(stderr, "\n");
    }
    free(ids);
    assert_true(same);
}

#define EXPECT(tok, text, ...)                                                             \
    expect((tok), (text), sizeof(text) - 1, (int)(sizeof((int32_t[]){ __VA_ARGS__ }) / 4), \
           __VA_ARGS__)

static void ties_keep_the_earlier_candidate(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, false, NULL, METASPACE, NULL, NULL);
    EXPECT(tok, "ab", 5, 3);      /* ▁a+b (-3.5) beats ▁+ab (-5) */
    EXPECT(tok, "abab", 5, 3, 4); /* ab+ab == a+b+ab in score: the first found stays */
    EXPECT(tok, "ba", 1, 3, 2);
    dgxm_tokenizer_free(tok);
}

static void unknowns_are_fused(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, false, NULL, METASPACE, NULL, NULL);
    EXPECT(tok, "zzz", 1, 0);
    EXPECT(tok, "azzb", 5, 0, 3);
    EXPECT(tok, "\xC3\xA9\xC3\xA9", 1, 0);
    EXPECT(tok, "a\0b", 5, 0, 3);
    EXPECT(tok,
           "a\tb\xE3\x80\x80"
           "c",
           5, 0, 3, 0, 6); /* no WhitespaceSplit here */
    dgxm_tokenizer_free(tok);
}

static void byte_fallback_spells_unknowns(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, true, NULL, METASPACE, NULL, NULL);
    EXPECT(tok, "A", 1, 8);
    EXPECT(tok, "\xC3\xA9", 1, 9, 10);
    EXPECT(tok, "A\xC3\xA9", 1, 8, 9, 10);
    dgxm_tokenizer_free(tok);
}

static void repeated_piece_last_id_wins(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build("[[\"<unk>\",0.0],[\"a\",-1.0],[\"a\",-3.0],[\"aa\",-1.0]]", false,
                                NULL, NULL, NULL, NULL);
    EXPECT(tok, "aaa", 2, 3); /* "a" is id 2 with score -3 */
    dgxm_tokenizer_free(tok);
}

#define ADDED_X(flags) \
    "[{\"id\":7,\"content\":\"<x>\",\"special\":true,\"normalized\":false," flags "}]"

static void added_token_lstrip_rstrip(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, false, NULL, METASPACE, NULL,
                                ADDED_X("\"lstrip\":true,\"rstrip\":true,\"single_word\":false"));
    EXPECT(tok, "a <x> b", 5, 7, 1, 3);
    EXPECT(tok, "a<x>b", 5, 7, 1, 3);
    EXPECT(tok, "  <x>  ", 7);
    dgxm_tokenizer_free(tok);
}

static void added_token_single_word(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, false, NULL, METASPACE, NULL,
                                ADDED_X("\"lstrip\":false,\"rstrip\":false,\"single_word\":true"));
    EXPECT(tok, "a <x> b", 5, 1, 7, 1, 3);
    EXPECT(tok, "a<x> b", 5, 7, 1, 3); /* not a single word: the model finds the piece <x> */
    EXPECT(tok, "<x>", 7);
    EXPECT(tok, "\xC3\xA9<x>", 1, 0, 7);
    dgxm_tokenizer_free(tok);
}

static void normalized_added_token_matches_after_normalising(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(
        NULL, false, "{\"type\":\"Replace\",\"pattern\":{\"String\":\"Q\"},\"content\":\"X\"}",
        METASPACE, NULL,
        "[{\"id\":11,\"content\":\"X\",\"special\":false,\"normalized\":true,\"lstrip\":false,"
        "\"rstrip\":false,\"single_word\":false}]");
    EXPECT(tok, "aQb", 5, 11, 1, 3);
    EXPECT(tok, "aXb", 5, 11, 1, 3);
    dgxm_tokenizer_free(tok);
}

static void strip_replace_prepend(void **state)
{
    (void)state;
    dgxm_tokenizer *tok =
        build(NULL, false,
              "{\"type\":\"Sequence\",\"normalizers\":["
              "{\"type\":\"Strip\",\"strip_left\":false,\"strip_right\":true},"
              "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" {2,}\"},\"content\":\"\\u2581\"},"
              "{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"}]}",
              "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"never\","
              "\"split\":true}",
              NULL, NULL);
    EXPECT(tok, "a  b ", 5, 1, 3);
    EXPECT(tok, "  ab", 1, 5, 3);
    EXPECT(tok, "a b", 5, 1, 3);
    dgxm_tokenizer_free(tok);
}

static void prepend_scheme_first(void **state)
{
    (void)state;
    dgxm_tokenizer *tok =
        build(NULL, false, NULL,
              "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"WhitespaceSplit\"},"
              "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"first\","
              "\"split\":true}]}",
              NULL, ADDED_X("\"lstrip\":false,\"rstrip\":false,\"single_word\":false"));
    EXPECT(tok, "a b", 5, 3);
    EXPECT(tok, " a b", 2, 3); /* the first word does not start at byte 0 */
    EXPECT(tok, "<x>a", 7, 2);
    EXPECT(tok, "a<x>b", 5, 7, 3);
    dgxm_tokenizer_free(tok);
}

static void metaspace_without_split(void **state)
{
    (void)state;
    dgxm_tokenizer *tok = build(NULL, false, NULL,
                                "{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\","
                                "\"prepend_scheme\":\"always\",\"split\":false}",
                                NULL, NULL);
    EXPECT(tok, "a b", 5, 1, 3);
    EXPECT(tok, "ab  a", 5, 3, 1, 5);
    dgxm_tokenizer_free(tok);
}

static void template_prefix_and_multi_id_suffix(void **state)
{
    (void)state;
    dgxm_tokenizer *tok =
        build(NULL, false, NULL, METASPACE,
              "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<x>\","
              "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":"
              "{\"id\":\"</s>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<x>\":{\"id\":"
              "\"<x>\",\"ids\":[7],\"tokens\":[\"<x>\"]},\"</s>\":{\"id\":\"</s>\",\"ids\":[6,1],"
              "\"tokens\":[\"c\",\"\\u2581\"]}}}",
              NULL);
    EXPECT(tok, "ab", 7, 5, 3, 6, 1);
    EXPECT(tok, "", 7, 6, 1);
    assert_int_equal(dgxm_tokenizer_eos_id(tok), 1);
    dgxm_tokenizer_free(tok);
}

static void unknown_without_unk_id_fails(void **state)
{
    (void)state;
    const char *text = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":null,"
                       "\"vocab\":[[\"a\",-1.0]]}}";
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = dgxm_tokenizer_parse_json("nounk.json", text, strlen(text), &err);
    assert_non_null(tok);
    int32_t *ids = NULL;
    size_t count = 0;
    assert_int_equal(dgxm_tokenizer_encode(tok, "aa", 2, &ids, &count, &err), DGXM_OK);
    free(ids);
    assert_int_equal(dgxm_tokenizer_encode(tok, "ab", 2, &ids, &count, &err), DGXM_ERR_FORMAT);
    assert_null(ids);
    assert_non_null(strstr(err.message, "nounk.json"));
    assert_non_null(strstr(err.message, "unk_id"));
    dgxm_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ties_keep_the_earlier_candidate),
        cmocka_unit_test(unknowns_are_fused),
        cmocka_unit_test(byte_fallback_spells_unknowns),
        cmocka_unit_test(repeated_piece_last_id_wins),
        cmocka_unit_test(added_token_lstrip_rstrip),
        cmocka_unit_test(added_token_single_word),
        cmocka_unit_test(normalized_added_token_matches_after_normalising),
        cmocka_unit_test(strip_replace_prepend),
        cmocka_unit_test(prepend_scheme_first),
        cmocka_unit_test(metaspace_without_split),
        cmocka_unit_test(template_prefix_and_multi_id_suffix),
        cmocka_unit_test(unknown_without_unk_id_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
