/* tokenizer.json (Hugging Face tokenizers serialisation) -> dgxm_tokenizer.
 *
 * Understood: model Unigram (vocab [[piece, score], ...], unk_id, byte_fallback; "type" may be
 * absent in old files); normalizer Precompiled (base64 precompiled_charsmap), Strip, Replace
 * (String pattern, or Regex of the forms "X{n,}" / "X+" / a plain literal), Prepend and
 * Sequence of these; pre_tokenizer WhitespaceSplit, Metaspace (2020 add_prefix_space or newer
 * prepend_scheme / split) and Sequence of these; added_tokens; post_processor TemplateProcessing
 * (or a Sequence holding one, ByteLevel entries ignored). Any other "type" is an error naming it.
 * truncation and padding are ignored: transformers switches them off for a plain call.
 */
#ifndef DGXM_TOKENIZER_JSON_H
#define DGXM_TOKENIZER_JSON_H

#include "tokenizer.h"

dgxm_tokenizer *dgxm_tokenizer_from_json(const char *file, const char *json, size_t len,
                                         dgxm_error *err);

#endif
