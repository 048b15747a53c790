/* spiece.model -> dgxm_tokenizer, the way transformers 5 converts a folder that holds only
 * spiece.model for T5 (T5Tokenizer + SentencePieceExtractor + T5Converter.convert_from_spm). */
#ifndef DGXM_TOKENIZER_SPM_H
#define DGXM_TOKENIZER_SPM_H

#include "tokenizer.h"

/* Parses and converts len bytes of spiece.model; extra_ids <extra_id_N> tokens are appended
 * (tokenizer_config.json "extra_ids", 100 by default). */
dgxm_tokenizer *dgxm_tokenizer_from_spm(const char *file, const void *bytes, size_t len,
                                        int extra_ids, dgxm_error *err);

#endif
