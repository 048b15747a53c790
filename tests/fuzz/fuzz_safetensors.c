/* libFuzzer target: dgxm_safetensors_parse over arbitrary bytes. Whatever it accepts must be
 * safe to use: every tensor's bytes lie inside the input and convert (float dtypes) or read. */
#include "safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_safetensors *st = dgxm_safetensors_parse("fuzz.safetensors", data, size, &err);
    if (!st) {
        if (err.status == DGXM_OK || !err.message[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    unsigned sum = 0;
    for (size_t i = 0; i < dgxm_safetensors_count(st); i++) {
        const dgxm_tensor *t = dgxm_safetensors_at(st, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size ||
            t->nbytes != (size_t)t->numel * dgxm_dtype_size(t->dtype) ||
            dgxm_safetensors_find(st, t->name) != t)
            abort();
        for (size_t b = 0; b < t->nbytes; b++)
            sum += p[b];
        if (dgxm_dtype_is_float(t->dtype)) {
            float *f = malloc(t->numel ? (size_t)t->numel * sizeof *f : 1);
            if (f && dgxm_tensor_to_f32(t, f, &err) != DGXM_OK)
                abort();
            free(f);
        }
    }
    sink = sum; /* keeps the reads */
    dgxm_safetensors_free(st);
    return 0;
}
