/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) and the one
 * Unicode property the tokenizer needs from the Rust standard library (char::is_whitespace).
 * Pure functions; any thread. */
#ifndef DGXM_UTF8_H
#define DGXM_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point that starts at s (len bytes available). Returns its length in bytes
 * (1 to 4) and stores it in *cp, or returns 0 when the bytes there are not a valid sequence
 * (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated). */
size_t dgxm_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* true when all len bytes are valid UTF-8; otherwise false and *bad_offset is the offset of the
 * first byte of the first invalid sequence. */
bool dgxm_utf8_validate(const char *s, size_t len, size_t *bad_offset);

/* A short description of why the sequence at s is invalid ("overlong encoding", ...), for error
 * messages; s must be a position where dgxm_utf8_decode returned 0. Static storage. */
const char *dgxm_utf8_problem(const uint8_t *s, size_t len);

/* Length of the sequence that starts with lead byte b, for text already validated. */
static inline size_t dgxm_utf8_len(uint8_t b)
{
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* Writes the UTF-8 form of the scalar value cp to out; returns its length. */
size_t dgxm_utf8_encode(uint32_t cp, char out[4]);

/* Unicode White_Space, exactly the set of Rust's char::is_whitespace, which Hugging Face
 * tokenizers use for WhitespaceSplit, Strip and added-token lstrip/rstrip. */
bool dgxm_is_whitespace(uint32_t cp);

#endif
