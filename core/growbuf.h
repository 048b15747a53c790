/* Growable byte strings and id lists for the tokenizer. Plain heap memory owned by the struct;
 * the push functions return false when an allocation fails and leave the contents as they were.
 * Threads: a buffer belongs to one thread at a time. */
#ifndef DGXM_GROWBUF_H
#define DGXM_GROWBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct dgxm_strbuf {
    char *data; /* not NUL-terminated */
    size_t len, cap;
} dgxm_strbuf;

typedef struct dgxm_idvec {
    int32_t *data;
    size_t len, cap;
} dgxm_idvec;

/* Grows *data (elements of size elem) to hold at least need elements. */
static inline bool dgxm_grow(void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / elem)
            return false;
        cap2 *= 2;
    }
    void *grown = realloc(*data, cap2 * elem);
    if (!grown)
        return false;
    *data = grown;
    *cap = cap2;
    return true;
}

static inline bool dgxm_strbuf_append(dgxm_strbuf *b, const char *s, size_t n)
{
    if (n > SIZE_MAX - b->len || !dgxm_grow((void **)&b->data, &b->cap, b->len + n, 1))
        return false;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

static inline void dgxm_strbuf_free(dgxm_strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static inline bool dgxm_idvec_push(dgxm_idvec *v, int32_t id)
{
    if (!dgxm_grow((void **)&v->data, &v->cap, v->len + 1, sizeof *v->data))
        return false;
    v->data[v->len++] = id;
    return true;
}

static inline void dgxm_idvec_free(dgxm_idvec *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

#endif
