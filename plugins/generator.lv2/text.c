/* Stdio-free message building; see text.h. */
#include "text.h"

#include <math.h>
#include <string.h>

void gen_text_append(char *dst, size_t size, const char *s)
{
    size_t n = strnlen(dst, size), k = strnlen(s, size);
    if (n + 1 >= size)
        return;
    if (n + k >= size)
        k = size - 1 - n;
    memcpy(dst + n, s, k);
    dst[n + k] = '\0';
}

void gen_text_append_int(char *dst, size_t size, long long v)
{
    char digits[24];
    int i = (int)sizeof digits - 1;
    digits[i] = '\0';
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (v < 0)
        digits[--i] = '-';
    gen_text_append(dst, size, digits + i);
}

void gen_text_append_num(char *dst, size_t size, double v)
{
    if (isnan(v)) {
        gen_text_append(dst, size, "nan");
        return;
    }
    if (isinf(v)) {
        gen_text_append(dst, size, v < 0 ? "-inf" : "inf");
        return;
    }
    if (fabs(v) >= 1e15) { /* past what an integer part can show: say so plainly */
        gen_text_append(dst, size, v < 0 ? "-huge" : "huge");
        return;
    }
    long long milli = llround(fabs(v) * 1000.0);
    if (v < 0 && milli)
        gen_text_append(dst, size, "-");
    gen_text_append_int(dst, size, milli / 1000);
    int frac = (int)(milli % 1000);
    if (frac) {
        char f[5] = { '.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10), '\0' };
        for (int i = 3; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        gen_text_append(dst, size, f);
    }
}
