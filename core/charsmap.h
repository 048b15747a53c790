/* SentencePiece's precompiled_charsmap, applied the way Hugging Face tokenizers' Precompiled
 * normaliser applies it (spm_precompiled crate + tokenizers/src/normalizers/precompiled.rs).
 *
 * Blob layout: u32 LE trie_size (bytes), trie_size/4 u32 LE units of a Darts-clone double array,
 * then the replacement pool: UTF-8 strings, each ended by a NUL byte. A trie leaf's value is a
 * byte offset into the pool.
 *
 * Ownership: parse copies the blob; free with dgxm_charsmap_free.
 * Threads: parse/free on one thread; normalize only reads, so any number of threads may share one.
 */
#ifndef DGXM_CHARSMAP_H
#define DGXM_CHARSMAP_H

#include "dgxm/status.h"
#include "growbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dgxm_charsmap dgxm_charsmap;

/* Checks the blob (trie size inside the blob and a multiple of 4, at least one unit, pool valid
 * UTF-8) and copies it. file and field name the blob's origin in error messages. */
dgxm_charsmap *dgxm_charsmap_parse(const char *file, const char *field, const uint8_t *blob,
                                   size_t len, dgxm_error *err);
void dgxm_charsmap_free(dgxm_charsmap *cm);

/* The blob as parsed (for comparing two files). */
const uint8_t *dgxm_charsmap_blob(const dgxm_charsmap *cm, size_t *len);

/* Appends the normalised form of text (valid UTF-8) to out. For each extended grapheme cluster
 * g: when g is shorter than 6 bytes and some key is a prefix of g, the whole of g becomes the
 * replacement of the shortest such key; otherwise each code point of g is replaced by its own
 * replacement or kept. (This is the crate's rule, kept for bit-compatibility with SentencePiece
 * on XNLI; it can drop combining marks, e.g. "ⓩ" + U+0348 -> "z".) A leaf whose value points
 * outside the pool counts as no match. Returns false when an allocation fails. */
bool dgxm_charsmap_normalize(const dgxm_charsmap *cm, const char *text, size_t len,
                             dgxm_strbuf *out);

#endif
