/* Splitting text around added tokens, as tokenizers' AddedVocabulary::find_matches does:
 * leftmost-longest matches, single_word / lstrip / rstrip honoured.
 * Only reads the tokenizer: any thread. */
#ifndef DGXM_ADDED_TOKENS_H
#define DGXM_ADDED_TOKENS_H

#include "tokenizer_impl.h"

/* Receives a stretch of text between matches; offset is its byte offset in the text given to
 * dgxm_added_split. */
typedef dgxm_status (*dgxm_added_text_fn)(void *ctx, const char *text, size_t len, size_t offset);

/* Walks text (valid UTF-8) left to right: stretches without a match of the tokens whose
 * normalized flag equals `normalized` go to on_text; each match appends its id to ids. */
dgxm_status dgxm_added_split(const dgxm_tokenizer *tok, bool normalized, const char *text,
                             size_t len, dgxm_added_text_fn on_text, void *ctx, dgxm_idvec *ids,
                             dgxm_error *err);

#endif
