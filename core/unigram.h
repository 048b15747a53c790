/* The Unigram model of Hugging Face tokenizers (tokenizers/src/models/unigram/model.rs,
 * encode_optimized): Viterbi over a byte trie of the vocabulary with double scores.
 *
 * Ownership: dgxm_unigram_new copies the pieces; free with dgxm_unigram_free.
 * Threads: new/free on one thread; find and encode only read, so threads may share a model.
 */
#ifndef DGXM_UNIGRAM_H
#define DGXM_UNIGRAM_H

#include "dgxm/status.h"
#include "growbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dgxm_unigram dgxm_unigram;

typedef struct dgxm_unigram_piece {
    const char *text; /* valid UTF-8 */
    size_t len;
    double score;
} dgxm_unigram_piece;

/* Builds the model; the id of pieces[i] is i. unk_id < 0 means the model has no <unk> (encoding
 * text that needs one then fails). file names the source in messages. */
dgxm_unigram *dgxm_unigram_new(const char *file, const dgxm_unigram_piece *pieces, size_t n,
                               int32_t unk_id, bool byte_fallback, dgxm_error *err);
void dgxm_unigram_free(dgxm_unigram *m);

size_t dgxm_unigram_size(const dgxm_unigram *m);
int32_t dgxm_unigram_unk_id(const dgxm_unigram *m);
/* Piece id as stored (text not NUL-terminated). */
const char *dgxm_unigram_piece_at(const dgxm_unigram *m, size_t id, size_t *len, double *score);

/* The id of the piece equal to s, or -1. When the vocabulary repeats a piece the last id wins,
 * as in the HashMap the reference fills in order. */
int32_t dgxm_unigram_find(const dgxm_unigram *m, const char *s, size_t len);

/* Appends the ids of the best segmentation of text (one pre-tokenized word, valid UTF-8):
 * best[0] = 0; at each character start s, every piece that is a prefix of text[s:] offers
 * best[s] + score; a target is replaced only by a strictly greater score (ties keep the earlier
 * candidate); when no piece covers exactly one character at s, <unk> covers it with score
 * min_score - 10. Backtracking fuses consecutive <unk>s into one token, looked up as a string
 * (normally absent, giving unk_id; with byte_fallback, <0xXX> pieces when all exist). */
dgxm_status dgxm_unigram_encode(const dgxm_unigram *m, const char *text, size_t len,
                                dgxm_idvec *ids, dgxm_error *err);

#endif
