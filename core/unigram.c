/* Unigram Viterbi over a byte trie: see unigram.h. */
#include "unigram.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trie nodes in breadth-first order, so each node's children are contiguous and sorted by
 * label: children of node k are first_child[k] .. first_child[k] + n_child[k] - 1. */
struct dgxm_unigram {
    char *file;
    size_t n;
    char *text;     /* all pieces, back to back */
    size_t *offset; /* [n + 1] */
    double *score;  /* [n] */
    int32_t unk_id;
    bool byte_fallback;
    double unk_score; /* min score - 10 */

    size_t n_nodes;
    uint32_t *first_child;
    uint32_t *n_child;
    uint8_t *label;
    int32_t *node_id; /* piece ending at this node, or -1 */
};

typedef struct sort_entry {
    const uint8_t *s;
    size_t len;
    size_t id;
} sort_entry;

static int compare_entries(const void *pa, const void *pb)
{
    const sort_entry *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int32_t child(const dgxm_unigram *m, uint32_t node, uint8_t c)
{
    uint32_t lo = m->first_child[node], hi = lo + m->n_child[node];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->label[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < m->first_child[node] + m->n_child[node] && m->label[lo] == c) ? (int32_t)lo : -1;
}

/* Breadth-first construction from the sorted pieces: node k covers entries [lo[k], hi[k]),
 * which share their first depth[k] bytes. */
static bool build_trie(dgxm_unigram *m, sort_entry *e, size_t n_entries, size_t max_nodes)
{
    uint32_t *lo = malloc(max_nodes * sizeof *lo), *hi = malloc(max_nodes * sizeof *hi);
    uint32_t *depth = malloc(max_nodes * sizeof *depth);
    m->first_child = malloc(max_nodes * sizeof *m->first_child);
    m->n_child = malloc(max_nodes * sizeof *m->n_child);
    m->label = malloc(max_nodes);
    m->node_id = malloc(max_nodes * sizeof *m->node_id);
    bool ok = lo && hi && depth && m->first_child && m->n_child && m->label && m->node_id;
    if (ok) {
        lo[0] = 0, hi[0] = (uint32_t)n_entries, depth[0] = 0, m->label[0] = 0;
        size_t count = 1;
        for (size_t k = 0; k < count; k++) {
            uint32_t i = lo[k], end = hi[k], d = depth[k];
            m->node_id[k] = -1;
            while (i < end && e[i].len == d) /* sorted: the piece equal to the prefix first */
                m->node_id[k] = (int32_t)e[i++].id; /* duplicates ascend by id: last wins */
            m->first_child[k] = (uint32_t)count;
            while (i < end) {
                uint8_t c = e[i].s[d];
                uint32_t j = i;
                while (j < end && e[j].s[d] == c)
                    j++;
                lo[count] = i, hi[count] = j, depth[count] = d + 1, m->label[count] = c;
                count++;
                i = j;
            }
            m->n_child[k] = (uint32_t)count - m->first_child[k];
        }
        m->n_nodes = count;
    }
    free(lo);
    free(hi);
    free(depth);
    return ok;
}

dgxm_unigram *dgxm_unigram_new(const char *file, const dgxm_unigram_piece *pieces, size_t n,
                               int32_t unk_id, bool byte_fallback, dgxm_error *err)
{
    if (n == 0) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: the vocabulary is empty", file);
        return NULL;
    }
    if (n > INT32_MAX) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: %zu pieces are too many", file, n);
        return NULL;
    }
    if (unk_id >= 0 && (size_t)unk_id >= n) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: unk id %d is outside the %zu-piece vocabulary",
                       file, (int)unk_id, n);
        return NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (pieces[i].len > UINT32_MAX - 1 - total) {
            dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: the pieces exceed 4 GiB", file);
            return NULL;
        }
        total += pieces[i].len;
    }
    dgxm_unigram *m = calloc(1, sizeof *m);
    sort_entry *e = malloc(n * sizeof *e);
    if (m) {
        m->file = strdup(file);
        m->text = malloc(total ? total : 1);
        m->offset = malloc((n + 1) * sizeof *m->offset);
        m->score = malloc(n * sizeof *m->score);
    }
    if (!m || !e || !m->file || !m->text || !m->offset || !m->score) {
        free(e);
        dgxm_unigram_free(m);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu pieces", file, n);
        return NULL;
    }
    m->n = n;
    m->unk_id = unk_id;
    m->byte_fallback = byte_fallback;
    double min_score = INFINITY;
    size_t at = 0, n_entries = 0;
    for (size_t i = 0; i < n; i++) {
        m->offset[i] = at;
        if (pieces[i].len)
            memcpy(m->text + at, pieces[i].text, pieces[i].len);
        m->score[i] = pieces[i].score;
        if (pieces[i].score < min_score)
            min_score = pieces[i].score;
        if (pieces[i].len) /* the empty piece is never matched */
            e[n_entries++] = (sort_entry){ (const uint8_t *)m->text + at, pieces[i].len, i };
        at += pieces[i].len;
    }
    m->offset[n] = at;
    m->unk_score = min_score - 10.0;
    qsort(e, n_entries, sizeof *e, compare_entries);
    bool ok = build_trie(m, e, n_entries, total + 1);
    free(e);
    if (!ok) {
        dgxm_unigram_free(m);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for the piece trie", file);
        return NULL;
    }
    return m;
}

void dgxm_unigram_free(dgxm_unigram *m)
{
    if (!m)
        return;
    free(m->file);
    free(m->text);
    free(m->offset);
    free(m->score);
    free(m->first_child);
    free(m->n_child);
    free(m->label);
    free(m->node_id);
    free(m);
}

size_t dgxm_unigram_size(const dgxm_unigram *m)
{
    return m->n;
}

int32_t dgxm_unigram_unk_id(const dgxm_unigram *m)
{
    return m->unk_id;
}

const char *dgxm_unigram_piece_at(const dgxm_unigram *m, size_t id, size_t *len, double *score)
{
    *len = m->offset[id + 1] - m->offset[id];
    *score = m->score[id];
    return m->text + m->offset[id];
}

int32_t dgxm_unigram_find(const dgxm_unigram *m, const char *s, size_t len)
{
    int32_t node = 0;
    for (size_t i = 0; i < len && node >= 0; i++)
        node = child(m, (uint32_t)node, (uint8_t)s[i]);
    return (len && node >= 0) ? m->node_id[node] : -1;
}

/* Ids for a run of fused <unk>s, pushed in reverse (backtrack reverses the whole word at the
 * end): the run looked up as a piece, else its bytes as <0xXX> pieces (byte_fallback, when all
 * exist), else unk_id. */
static bool push_unknown(const dgxm_unigram *m, const char *s, size_t len, dgxm_idvec *ids)
{
    int32_t id = dgxm_unigram_find(m, s, len);
    if (id >= 0)
        return dgxm_idvec_push(ids, id);
    if (m->byte_fallback) {
        size_t mark = ids->len;
        for (size_t i = len; i-- > 0;) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", (unsigned)(uint8_t)s[i]);
            int32_t b = dgxm_unigram_find(m, name, 6);
            if (b < 0) {
                ids->len = mark;
                return dgxm_idvec_push(ids, m->unk_id);
            }
            if (!dgxm_idvec_push(ids, b))
                return false;
        }
        return true;
    }
    return dgxm_idvec_push(ids, m->unk_id);
}

typedef struct lattice {
    double *score;
    size_t *start; /* SIZE_MAX: not reached yet */
    int32_t *id;
} lattice;

/* One Viterbi step at character start s: every piece that starts at s, then <unk> when no piece
 * covers exactly the character there. */
static dgxm_status relax_from(const dgxm_unigram *m, const uint8_t *t, size_t len, size_t s,
                              size_t mblen, lattice *L, dgxm_error *err)
{
    double base = L->score[s];
    bool has_single = false;
    int32_t node = 0;
    for (size_t p = s; p < len; p++) {
        node = child(m, (uint32_t)node, t[p]);
        if (node < 0)
            break;
        int32_t id = m->node_id[node];
        if (id < 0)
            continue;
        size_t end = p + 1;
        double cand = base + m->score[id];
        if (L->start[end] == SIZE_MAX || cand > L->score[end])
            L->score[end] = cand, L->start[end] = s, L->id[end] = id;
        if (end - s == mblen)
            has_single = true;
    }
    if (!has_single) {
        size_t end = s + mblen;
        double cand = base + m->unk_score;
        if (L->start[end] == SIZE_MAX || cand > L->score[end]) {
            if (m->unk_id < 0)
                return dgxm_error_set(err, DGXM_ERR_FORMAT,
                                      "%s: the text needs <unk> at byte %zu of a word but the "
                                      "model has no unk_id",
                                      m->file, s);
            L->score[end] = cand, L->start[end] = s, L->id[end] = m->unk_id;
        }
    }
    return DGXM_OK;
}

/* Walks the best path back from the end, fusing <unk> runs, and appends ids in text order. */
static bool backtrack(const dgxm_unigram *m, const char *text, size_t len, const lattice *L,
                      dgxm_idvec *ids)
{
    size_t first = ids->len;
    size_t unk_end = SIZE_MAX, end = len;
    while (end > 0 && L->start[end] < end) {
        size_t s = L->start[end];
        if (m->unk_id >= 0 && L->id[end] == m->unk_id) {
            if (unk_end == SIZE_MAX)
                unk_end = end;
        } else {
            if (unk_end != SIZE_MAX && !push_unknown(m, text + end, unk_end - end, ids))
                return false;
            unk_end = SIZE_MAX;
            if (!dgxm_idvec_push(ids, L->id[end]))
                return false;
        }
        end = s;
    }
    if (unk_end != SIZE_MAX && !push_unknown(m, text, unk_end, ids))
        return false;
    /* pushed last token first */
    for (size_t i = first, j = ids->len; i + 1 < j; i++, j--) {
        int32_t tmp = ids->data[i];
        ids->data[i] = ids->data[j - 1];
        ids->data[j - 1] = tmp;
    }
    return true;
}

dgxm_status dgxm_unigram_encode(const dgxm_unigram *m, const char *text, size_t len,
                                dgxm_idvec *ids, dgxm_error *err)
{
    if (len == 0)
        return DGXM_OK;
    if (len > SIZE_MAX / 16 - 1)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: a %zu-byte word is too long", m->file, len);
    lattice L = { calloc(len + 1, sizeof *L.score), malloc((len + 1) * sizeof *L.start),
                  malloc((len + 1) * sizeof *L.id) };
    dgxm_status st = DGXM_OK;
    if (!L.score || !L.start || !L.id) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for a %zu-byte word", m->file, len);
        goto done;
    }
    for (size_t i = 0; i <= len; i++)
        L.start[i] = SIZE_MAX;
    L.score[0] = 0.0, L.start[0] = 0, L.id[0] = -1;
    const uint8_t *t = (const uint8_t *)text;
    for (size_t s = 0, mblen; s < len; s += mblen) {
        mblen = dgxm_utf8_len(t[s]);
        if (mblen > len - s) /* only for text that skipped validation */
            mblen = len - s;
        if ((st = relax_from(m, t, len, s, mblen, &L, err)) != DGXM_OK)
            goto done;
    }
    if (!backtrack(m, text, len, &L, ids)) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, st, "%s: out of memory for token ids", m->file);
    }
done:
    free(L.score);
    free(L.start);
    free(L.id);
    return st;
}
