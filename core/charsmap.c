/* The Precompiled normaliser: Darts-clone common-prefix search over grapheme clusters. */
#include "charsmap.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct dgxm_charsmap {
    uint8_t *blob;
    size_t blob_len;
    uint32_t *units; /* the double array, decoded from little-endian */
    size_t n_units;
    const char *pool; /* inside blob */
    size_t pool_len;
};

/* Darts-clone unit fields. */
static uint32_t unit_has_leaf(uint32_t u)
{
    return (u >> 8) & 1u;
}

static uint32_t unit_value(uint32_t u)
{
    return u & 0x7FFFFFFFu;
}

static uint32_t unit_label(uint32_t u)
{
    return u & (0x80000000u | 0xFFu);
}

static size_t unit_offset(uint32_t u)
{
    return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6);
}

dgxm_charsmap *dgxm_charsmap_parse(const char *file, const char *field, const uint8_t *blob,
                                   size_t len, dgxm_error *err)
{
    if (len < 4) {
        dgxm_error_set(err, DGXM_ERR_FORMAT,
                       "%s: %s: %zu-byte blob is shorter than its 4-byte trie size", file, field,
                       len);
        return NULL;
    }
    uint32_t trie_size = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                         (uint32_t)blob[3] << 24;
    if (trie_size > len - 4) {
        dgxm_error_set(err, DGXM_ERR_FORMAT,
                       "%s: %s: trie size %u runs past the end of the %zu-byte blob", file, field,
                       trie_size, len);
        return NULL;
    }
    if (trie_size == 0 || trie_size % 4 != 0) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: %s: trie size %u is not a positive multiple of 4",
                       file, field, trie_size);
        return NULL;
    }
    size_t bad = 0;
    const char *pool = (const char *)blob + 4 + trie_size;
    size_t pool_len = len - 4 - trie_size;
    if (!dgxm_utf8_validate(pool, pool_len, &bad)) {
        dgxm_error_set(err, DGXM_ERR_FORMAT,
                       "%s: %s: replacement pool is not valid UTF-8 at blob byte %zu", file, field,
                       4 + trie_size + bad);
        return NULL;
    }
    dgxm_charsmap *cm = calloc(1, sizeof *cm);
    if (cm) {
        cm->blob = malloc(len);
        cm->units = malloc(trie_size);
    }
    if (!cm || !cm->blob || !cm->units) {
        dgxm_charsmap_free(cm);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: %s: out of memory for a %zu-byte charsmap", file,
                       field, len);
        return NULL;
    }
    memcpy(cm->blob, blob, len);
    cm->blob_len = len;
    cm->n_units = trie_size / 4;
    for (size_t i = 0; i < cm->n_units; i++) {
        const uint8_t *p = blob + 4 + 4 * i;
        cm->units[i] =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    cm->pool = (const char *)cm->blob + 4 + trie_size;
    cm->pool_len = pool_len;
    return cm;
}

void dgxm_charsmap_free(dgxm_charsmap *cm)
{
    if (!cm)
        return;
    free(cm->blob);
    free(cm->units);
    free(cm);
}

const uint8_t *dgxm_charsmap_blob(const dgxm_charsmap *cm, size_t *len)
{
    *len = cm->blob_len;
    return cm->blob;
}

/* The replacement of the shortest key that is a prefix of key[0..len) (the search stops at a
 * NUL byte, as the crate's does). Positions outside the array, which would panic in the crate,
 * end the search. */
static bool first_match(const dgxm_charsmap *cm, const uint8_t *key, size_t len, const char **rep,
                        size_t *rep_len)
{
    size_t pos = unit_offset(cm->units[0]);
    for (size_t i = 0; i < len && key[i] != 0; i++) {
        pos ^= key[i];
        if (pos >= cm->n_units)
            return false;
        uint32_t u = cm->units[pos];
        if (unit_label(u) != key[i])
            return false;
        pos ^= unit_offset(u);
        if (!unit_has_leaf(u))
            continue;
        if (pos >= cm->n_units)
            return false;
        size_t at = unit_value(cm->units[pos]);
        /* the pool is valid UTF-8, so a continuation byte is the middle of a character */
        if (at > cm->pool_len || (at < cm->pool_len && ((uint8_t)cm->pool[at] & 0xC0) == 0x80))
            return false;
        const char *end = memchr(cm->pool + at, 0, cm->pool_len - at);
        *rep = cm->pool + at;
        *rep_len = end ? (size_t)(end - (cm->pool + at)) : cm->pool_len - at;
        return true;
    }
    return false;
}

static bool normalize_grapheme(const dgxm_charsmap *cm, const uint8_t *g, size_t len,
                               dgxm_strbuf *out)
{
    const char *rep;
    size_t rep_len;
    if (len < 6 && first_match(cm, g, len, &rep, &rep_len))
        return dgxm_strbuf_append(out, rep, rep_len);
    for (size_t i = 0; i < len;) {
        size_t n = dgxm_utf8_len(g[i]);
        if (n > len - i)
            n = len - i;
        if (first_match(cm, g + i, n, &rep, &rep_len)) {
            if (!dgxm_strbuf_append(out, rep, rep_len))
                return false;
        } else if (!dgxm_strbuf_append(out, (const char *)g + i, n)) {
            return false;
        }
        i += n;
    }
    return true;
}

bool dgxm_charsmap_normalize(const dgxm_charsmap *cm, const char *text, size_t len,
                             dgxm_strbuf *out)
{
    const uint8_t *s = (const uint8_t *)text;
    utf8proc_int32_t state = 0;
    uint32_t prev = 0;
    size_t start = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = dgxm_utf8_decode(s + i, len - i, &cp);
        if (n == 0) /* callers validate first; never split a byte sequence regardless */
            n = 1, cp = 0xFFFD;
        if (i > start && utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev,
                                                          (utf8proc_int32_t)cp, &state)) {
            if (!normalize_grapheme(cm, s + start, i - start, out))
                return false;
            start = i;
        }
        prev = cp;
        i += n;
    }
    return start >= len || normalize_grapheme(cm, s + start, len - start, out);
}
