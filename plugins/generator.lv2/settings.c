/* Settings: defaults, matching a take to a request, range checks. Any thread. */
#include "settings.h"

#include "text.h"

#include <math.h>
#include <string.h>

void gen_settings_defaults(gen_settings *s)
{
    memset(s, 0, sizeof *s);
    s->seconds = 8.0;
    s->bars = 4;
    s->beats_per_bar = 4.0;
    s->guidance = 3.0f;
    s->temperature = 1.0f;
    s->top_k = 250;
    s->seed = -1;
}

bool gen_settings_match(const gen_settings *take, const gen_settings *want)
{
    if (take->sync != want->sync || take->guidance != want->guidance ||
        take->temperature != want->temperature || take->top_k != want->top_k)
        return false;
    if (want->seed >= 0 && take->seed != want->seed)
        return false;
    if (want->sync) {
        /* tempo read from the host: equal to a thousandth of a beat per minute */
        if (take->bars != want->bars || fabs(take->bpm - want->bpm) > 1e-3 ||
            take->beats_per_bar != want->beats_per_bar)
            return false;
    } else if (fabs(take->seconds - want->seconds) > 1e-6) {
        return false;
    }
    return strcmp(take->model, want->model) == 0 && strcmp(take->prompt, want->prompt) == 0;
}

/* msg = what + " " + value + unit + " is outside " + range */
static bool out_of_range(char *msg, size_t size, const char *what, double v, const char *range)
{
    msg[0] = '\0';
    gen_text_append(msg, size, what);
    gen_text_append(msg, size, " ");
    gen_text_append_num(msg, size, v);
    gen_text_append(msg, size, " is outside ");
    gen_text_append(msg, size, range);
    return false;
}

bool gen_settings_check(const gen_settings *s, char *msg, size_t msg_size)
{
    if (s->prompt[0] == '\0') {
        msg[0] = '\0';
        gen_text_append(msg, msg_size, "no prompt: set prompt (or prompt_file) first");
        return false;
    }
    if (!s->sync && !(s->seconds >= GEN_SECONDS_MIN && s->seconds <= GEN_SECONDS_MAX))
        return out_of_range(msg, msg_size, "duration", s->seconds, "1 .. 300 seconds");
    if (s->sync && !(s->bars >= GEN_BARS_MIN && s->bars <= GEN_BARS_MAX))
        return out_of_range(msg, msg_size, "duration", s->bars, "1 .. 64 bars");
    if (!(s->guidance >= 0.0f && s->guidance <= 20.0f))
        return out_of_range(msg, msg_size, "guidance", s->guidance, "0 .. 20");
    if (!(s->temperature >= 0.01f && s->temperature <= 10.0f))
        return out_of_range(msg, msg_size, "temperature", s->temperature, "0.01 .. 10");
    if (s->top_k < 0 || s->top_k > 2048)
        return out_of_range(msg, msg_size, "top_k", s->top_k, "0 .. 2048");
    if (s->seed < -1 || s->seed > GEN_SEED_MAX)
        return out_of_range(msg, msg_size, "seed", (double)s->seed, "-1 .. 16777215");
    return true;
}

bool gen_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + n >= len) /* truncated sequence */
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and code points past U+10FFFF are not UTF-8 */
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}
