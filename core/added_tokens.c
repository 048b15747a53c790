/* Added-token matching: see added_tokens.h. */
#include "added_tokens.h"
#include "utf8.h"

#include <string.h>
#include <utf8proc.h>

/* Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation, join controls.
 * (Alphabetic is approximated by the letter categories plus Nl.) */
static bool is_word_char(uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D)
        return true;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC: return true;
    default: return false;
    }
}

/* Start of the character that ends at s[end] (end > 0). */
static size_t char_before(const char *s, size_t end)
{
    size_t c = end - 1;
    while (c > 0 && ((uint8_t)s[c] & 0xC0) == 0x80)
        c--;
    return c;
}

static uint32_t decode_at(const char *s, size_t len, size_t *n)
{
    uint32_t cp = 0;
    *n = dgxm_utf8_decode((const uint8_t *)s, len, &cp);
    if (*n == 0)
        *n = 1, cp = 0xFFFD;
    return cp;
}

static bool single_word_ok(const char *s, size_t len, size_t start, size_t stop)
{
    size_t n;
    if (start > 0) {
        size_t c = char_before(s, start);
        if (is_word_char(decode_at(s + c, start - c, &n)))
            return false;
    }
    return stop == len || !is_word_char(decode_at(s + stop, len - stop, &n));
}

/* The longest wanted token that matches at s[at]; NULL when none does. */
static const dgxm_added_token *longest_at(const dgxm_tokenizer *tok, bool normalized, const char *s,
                                          size_t len, size_t at)
{
    const dgxm_added_token *best = NULL;
    for (size_t k = 0; k < tok->n_added; k++) {
        const dgxm_added_token *t = &tok->added[k];
        if (t->normalized != normalized || t->len == 0 || t->len > len - at ||
            (best && t->len <= best->len) || memcmp(s + at, t->content, t->len) != 0)
            continue;
        best = t;
    }
    return best;
}

dgxm_status dgxm_added_split(const dgxm_tokenizer *tok, bool normalized, const char *text,
                             size_t len, dgxm_added_text_fn on_text, void *ctx, dgxm_idvec *ids,
                             dgxm_error *err)
{
    bool first_byte[256] = { false };
    for (size_t k = 0; k < tok->n_added; k++)
        if (tok->added[k].normalized == normalized && tok->added[k].len)
            first_byte[(uint8_t)tok->added[k].content[0]] = true;
    size_t done = 0, at = 0, n;
    dgxm_status st;
    while (at < len) {
        const dgxm_added_token *t = NULL;
        if (first_byte[(uint8_t)text[at]])
            t = longest_at(tok, normalized, text, len, at);
        if (!t) {
            at++;
            continue;
        }
        size_t start = at, stop = at + t->len;
        at = stop; /* the next match is searched after this one, even when it is discarded */
        if (t->single_word && !single_word_ok(text, len, start, stop))
            continue;
        if (t->lstrip) {
            while (start > done) {
                size_t c = char_before(text, start);
                if (!dgxm_is_whitespace(decode_at(text + c, start - c, &n)))
                    break;
                start = c;
            }
        }
        while (t->rstrip && stop < len &&
               dgxm_is_whitespace(decode_at(text + stop, len - stop, &n)))
            stop += n;
        if (done < start && (st = on_text(ctx, text + done, start - done, done)) != DGXM_OK)
            return st;
        if (!dgxm_idvec_push(ids, t->id))
            return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for token ids",
                                  tok->file);
        done = stop;
    }
    if (done < len)
        return on_text(ctx, text + done, len - done, done);
    return DGXM_OK;
}
