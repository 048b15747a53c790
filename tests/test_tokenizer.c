/* The tokenizer against the Hugging Face reference: tests/fixtures/tokenizer/prompts.jsonl holds,
 * per prompt, the ids of transformers' T5 tokenizer ("ids"), of the sentencepiece library
 * ("spm_ids") and of the 2020-layout legacy/tokenizer.json ("legacy_ids"). We must give "ids"
 * from spiece.model alone and from tokenizer.json alone, and "legacy_ids" from the legacy file.
 *
 * HF is the reference where it and sentencepiece differ (15 of the 574 prompts, all kept):
 *  - the grapheme rule of the Precompiled normaliser: "a" U+0308 U+0304 (5 bytes) becomes "ä"
 *    (the shortest charsmap key of the cluster replaces the whole cluster) where sentencepiece
 *    gives "ǟ"; "ﾋﾟ" (6 bytes, so character by character) becomes ヒ U+309A where sentencepiece
 *    gives ピ;
 *  - U+0085 (NEL) is whitespace to HF's WhitespaceSplit, not to sentencepiece;
 *  - </s>, <pad>, <unk>, <extra_id_N> are matched literally in the text by HF (one id each),
 *    while sentencepiece spells them out piece by piece.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"
#include "tokenizer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct prompt {
    char *text;
    size_t len;
    json_t *ids, *spm_ids, *legacy_ids;
} prompt;

typedef struct prompts {
    json_t **lines;
    prompt *p;
    size_t n;
} prompts;

static prompts *load_prompts(void)
{
    size_t len = 0;
    char *all = test_read_file(test_fixture_path("tokenizer/prompts.jsonl"), &len);
    assert_non_null(all);
    prompts *ps = calloc(1, sizeof *ps);
    size_t cap = 1024;
    ps->p = calloc(cap, sizeof *ps->p);
    ps->lines = calloc(cap, sizeof(json_t *));
    for (char *line = all; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n) {
            json_error_t je;
            json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, &je);
            assert_non_null(j);
            assert_true(ps->n < cap);
            json_t *t = json_object_get(j, "text");
            ps->lines[ps->n] = j;
            ps->p[ps->n] = (prompt){ (char *)json_string_value(t), json_string_length(t),
                                     json_object_get(j, "ids"), json_object_get(j, "spm_ids"),
                                     json_object_get(j, "legacy_ids") };
            ps->n++;
        }
        line += n + (nl ? 1 : 0);
    }
    free(all);
    assert_true(ps->n > 500);
    return ps;
}

static void free_prompts(prompts *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        json_decref(ps->lines[i]);
    free(ps->lines);
    free(ps->p);
    free(ps);
}

static bool same_ids(const int32_t *ids, size_t count, json_t *want)
{
    if (json_array_size(want) != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (json_integer_value(json_array_get(want, i)) != ids[i])
            return false;
    return true;
}

static void print_mismatch(size_t index, const prompt *p, const int32_t *ids, size_t count,
                           json_t *want)
{
    char *w = json_dumps(want, JSON_COMPACT);
    fprintf(stderr, "prompt %zu %.*s\n  want %s\n  got  [", index, (int)(p->len > 80 ? 80 : p->len),
            p->text, w);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "%s%d", i ? ", " : "", (int)ids[i]);
    fprintf(stderr, "]\n");
    free(w);
}

/* Encodes every prompt; which = 0 compares to ids, 2 to legacy_ids. */
static void check_all(dgxm_tokenizer *tok, int which)
{
    prompts *ps = load_prompts();
    size_t bad = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const prompt *p = &ps->p[i];
        json_t *want = which == 2 ? p->legacy_ids : p->ids;
        int32_t *ids = NULL;
        size_t count = 0;
        dgxm_error err;
        dgxm_error_clear(&err);
        assert_int_equal(dgxm_tokenizer_encode(tok, p->text, p->len, &ids, &count, &err), DGXM_OK);
        if (!same_ids(ids, count, want)) {
            if (bad < 10)
                print_mismatch(i, p, ids, count, want);
            bad++;
        }
        free(ids);
    }
    if (bad)
        fprintf(stderr, "%zu of %zu prompts differ\n", bad, ps->n);
    free_prompts(ps);
    assert_int_equal(bad, 0);
}

static dgxm_tokenizer *must_load(dgxm_tokenizer *tok, const dgxm_error *err)
{
    if (!tok)
        fprintf(stderr, "load failed: %s\n", err->message);
    assert_non_null(tok);
    return tok;
}

static void ids_from_spiece_model_alone(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok =
        must_load(dgxm_tokenizer_load_spm(test_fixture_path("tokenizer/spiece.model"), &err), &err);
    assert_int_equal(dgxm_tokenizer_vocab_size(tok), 1100);
    assert_int_equal(dgxm_tokenizer_eos_id(tok), 1);
    assert_int_equal(dgxm_tokenizer_pad_id(tok), 0);
    check_all(tok, 0);
    dgxm_tokenizer_free(tok);
}

static void ids_from_tokenizer_json_alone(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = must_load(
        dgxm_tokenizer_load_json(test_fixture_path("tokenizer/tokenizer.json"), &err), &err);
    assert_int_equal(dgxm_tokenizer_vocab_size(tok), 1100);
    assert_int_equal(dgxm_tokenizer_eos_id(tok), 1);
    check_all(tok, 0);
    dgxm_tokenizer_free(tok);
}

static void legacy_tokenizer_json_gives_legacy_ids(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = must_load(
        dgxm_tokenizer_load_json(test_fixture_path("tokenizer/legacy/tokenizer.json"), &err), &err);
    check_all(tok, 2);
    dgxm_tokenizer_free(tok);
}

static void ids_from_directory_with_both_files(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok =
        must_load(dgxm_tokenizer_load(test_fixture_path("tokenizer"), &err), &err);
    check_all(tok, 0);
    dgxm_tokenizer_free(tok);
}

/* A folder with spiece.model alone takes the number of <extra_id_N> from tokenizer_config.json;
 * <extra_id_0> is the last id, as transformers appends them in reverse. */
static void spiece_model_folder_uses_config_extra_ids(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    size_t len = 0;
    char *model = test_read_file(test_fixture_path("tokenizer/spiece.model"), &len);
    assert_non_null(model);
    assert_int_equal(test_write_file(dir, "spiece.model", model, len), 0);
    free(model);
    const char *config =
        "{\"extra_ids\": 10, \"model_max_length\": 1000000000000000019884624837632}";
    assert_int_equal(test_write_file(dir, "tokenizer_config.json", config, strlen(config)), 0);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = must_load(dgxm_tokenizer_load(dir, &err), &err);
    assert_int_equal(dgxm_tokenizer_vocab_size(tok), 1010);
    int32_t *ids = NULL;
    size_t count = 0;
    assert_int_equal(
        dgxm_tokenizer_encode(tok, "<extra_id_0><extra_id_9><extra_id_10>", 38, &ids, &count, &err),
        DGXM_OK);
    assert_true(count > 3);
    assert_int_equal(ids[0], 1009);
    assert_int_equal(ids[1], 1000);
    assert_int_not_equal(ids[2], 1010); /* no such token: spelled out by the model */
    free(ids);
    dgxm_tokenizer_free(tok);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_from_spiece_model_alone),
        cmocka_unit_test(ids_from_tokenizer_json_alone),
        cmocka_unit_test(legacy_tokenizer_json_gives_legacy_ids),
        cmocka_unit_test(ids_from_directory_with_both_files),
        cmocka_unit_test(spiece_model_folder_uses_config_extra_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
