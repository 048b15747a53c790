/* Building short messages without stdio, so the audio thread can name a bad value: appends to
 * a NUL-terminated buffer, cutting what does not fit. Any thread; no allocation, no locks. */
#ifndef DGXM_GEN_TEXT_H
#define DGXM_GEN_TEXT_H

#include <stddef.h>

void gen_text_append(char *dst, size_t size, const char *s);
void gen_text_append_int(char *dst, size_t size, long long v);
/* v with up to 3 decimals, trailing zeros dropped; "nan", "inf", "-inf" as such. */
void gen_text_append_num(char *dst, size_t size, double v);

#endif
