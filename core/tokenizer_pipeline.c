/* The normalisers and pre-tokenizers of the Hugging Face tokenizers pipeline, as the tokenizers
 * library runs them (normalizers/{precompiled,strip,replace,prepend}.rs,
 * pre_tokenizers/{whitespace,metaspace}.rs), and the hand-off of each word to the model.
 * Everything here only reads the tokenizer: any thread. */
#include "tokenizer_impl.h"
#include "utf8.h"

#include <string.h>

static uint32_t char_at(const char *s, size_t len, size_t *n)
{
    uint32_t cp = 0;
    *n = dgxm_utf8_decode((const uint8_t *)s, len, &cp);
    if (*n == 0) /* only for text that skipped validation: one byte, not whitespace */
        *n = 1, cp = 0xFFFD;
    return cp;
}

/* Strip: trims Unicode whitespace on the chosen sides. */
static bool apply_strip(const dgxm_norm_step *st, const char *s, size_t len, dgxm_strbuf *out)
{
    size_t a = 0, b = len, n;
    while (st->strip_left && a < b && dgxm_is_whitespace(char_at(s + a, b - a, &n)))
        a += n;
    while (st->strip_right && b > a) {
        size_t c = b - 1;
        while (c > a && ((uint8_t)s[c] & 0xC0) == 0x80)
            c--;
        if (!dgxm_is_whitespace(char_at(s + c, b - c, &n)))
            break;
        b = c;
    }
    return dgxm_strbuf_append(out, s + a, b - a);
}

/* Replace: the literal pattern, or runs of at least min_repeat copies of it (regex "X{n,}"). */
static bool apply_replace(const dgxm_norm_step *st, const char *s, size_t len, dgxm_strbuf *out)
{
    const size_t pl = st->pattern_len;
    size_t i = 0, kept = 0;
    while (i + pl <= len) {
        if (memcmp(s + i, st->pattern, pl) != 0) {
            i++;
            continue;
        }
        size_t run = 1, j = i + pl;
        while (st->min_repeat && j + pl <= len && memcmp(s + j, st->pattern, pl) == 0)
            run++, j += pl;
        if (st->min_repeat && run < st->min_repeat) {
            i = j;
            continue;
        }
        if (!dgxm_strbuf_append(out, s + kept, i - kept) ||
            !dgxm_strbuf_append(out, st->content, st->content_len))
            return false;
        i = kept = j;
    }
    return dgxm_strbuf_append(out, s + kept, len - kept);
}

static bool apply_norm(const dgxm_norm_step *st, const char *s, size_t len, dgxm_strbuf *out)
{
    switch (st->kind) {
    case DGXM_NORM_PRECOMPILED: return dgxm_charsmap_normalize(st->charsmap, s, len, out);
    case DGXM_NORM_STRIP: return apply_strip(st, s, len, out);
    case DGXM_NORM_REPLACE: return apply_replace(st, s, len, out);
    case DGXM_NORM_PREPEND:
        return (len == 0 || dgxm_strbuf_append(out, st->content, st->content_len)) &&
               dgxm_strbuf_append(out, s, len);
    }
    return false;
}

bool dgxm_tokenizer_normalize(const dgxm_tokenizer *tok, const char *text, size_t len,
                              dgxm_strbuf *out)
{
    out->len = 0;
    if (!dgxm_strbuf_append(out, text, len))
        return false;
    dgxm_strbuf tmp = { 0 };
    bool ok = true;
    for (size_t i = 0; ok && i < tok->n_norm; i++) {
        tmp.len = 0;
        ok = apply_norm(&tok->norm[i], out->data, out->len, &tmp);
        dgxm_strbuf swap = *out;
        *out = tmp;
        tmp = swap;
    }
    dgxm_strbuf_free(&tmp);
    return ok;
}

/* Pre-tokenizer splits: byte ranges of an arena that grows as Metaspace rewrites words. */
typedef struct split {
    size_t off, len;
    bool first; /* starts at byte 0 of the input */
} split;

typedef struct split_list {
    split *data;
    size_t len, cap;
} split_list;

static bool push_split(split_list *l, size_t off, size_t len, bool first)
{
    if (len == 0) /* the library drops empty splits */
        return true;
    if (!dgxm_grow((void **)&l->data, &l->cap, l->len + 1, sizeof *l->data))
        return false;
    l->data[l->len++] = (split){ off, len, first };
    return true;
}

/* WhitespaceSplit: the maximal runs of non-whitespace characters. */
static bool whitespace_split(const dgxm_strbuf *arena, split in, split_list *out)
{
    const char *s = arena->data + in.off;
    size_t i = 0, word = 0, n;
    while (i < in.len) {
        bool ws = dgxm_is_whitespace(char_at(s + i, in.len - i, &n));
        if (ws) {
            if (!push_split(out, in.off + word, i - word, in.first && word == 0))
                return false;
            word = i + n;
        }
        i += n;
    }
    return push_split(out, in.off + word, in.len - word, in.first && word == 0);
}

/* Metaspace: ' ' -> replacement, the replacement prepended per the scheme unless the word
 * already starts with it, then (split) a new split before every replacement character. */
static bool metaspace(const dgxm_pretok_step *st, dgxm_strbuf *arena, split in, split_list *out)
{
    const char *rep = st->replacement;
    const size_t rl = st->replacement_len;
    size_t base = arena->len;
    bool starts =
        arena->data[in.off] == ' ' || (in.len >= rl && memcmp(arena->data + in.off, rep, rl) == 0);
    bool prepend = !starts && (st->prepend == DGXM_PREPEND_ALWAYS ||
                               (st->prepend == DGXM_PREPEND_FIRST && in.first));
    if (prepend && !dgxm_strbuf_append(arena, rep, rl))
        return false;
    for (size_t i = 0; i < in.len; i++) {
        /* appending may move the arena: index it afresh each time */
        char c = arena->data[in.off + i];
        if (!(c == ' ' ? dgxm_strbuf_append(arena, rep, rl) : dgxm_strbuf_append(arena, &c, 1)))
            return false;
    }
    size_t end = arena->len;
    if (!st->split)
        return push_split(out, base, end - base, in.first);
    size_t piece = base;
    for (size_t i = base; i + rl <= end; i++) {
        if (i > piece && memcmp(arena->data + i, rep, rl) == 0) {
            if (!push_split(out, piece, i - piece, in.first && piece == base))
                return false;
            piece = i;
        }
    }
    return push_split(out, piece, end - piece, in.first && piece == base);
}

dgxm_status dgxm_tokenizer_encode_segment(const dgxm_tokenizer *tok, const char *text, size_t len,
                                          bool first, dgxm_idvec *ids, dgxm_error *err)
{
    dgxm_strbuf arena = { 0 };
    split_list cur = { 0 }, next = { 0 };
    dgxm_status st = DGXM_OK;
    bool ok = dgxm_strbuf_append(&arena, text, len) && push_split(&cur, 0, len, first);
    for (size_t k = 0; ok && k < tok->n_pretok; k++) {
        const dgxm_pretok_step *step = &tok->pretok[k];
        next.len = 0;
        for (size_t i = 0; ok && i < cur.len; i++)
            ok = step->kind == DGXM_PRETOK_WHITESPACE_SPLIT
                     ? whitespace_split(&arena, cur.data[i], &next)
                     : metaspace(step, &arena, cur.data[i], &next);
        split_list swap = cur;
        cur = next;
        next = swap;
    }
    if (!ok) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, st, "%s: out of memory pre-tokenizing", tok->file);
    }
    for (size_t i = 0; st == DGXM_OK && i < cur.len; i++)
        st = dgxm_unigram_encode(tok->model, arena.data + cur.data[i].off, cur.data[i].len, ids,
                                 err);
    dgxm_strbuf_free(&arena);
    free(cur.data);
    free(next.data);
    return st;
}
