/* Stored-tensor dtypes, half/bfloat16 conversion and shape checks: see tensor.h. */
#include "tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dgx-music reads little-endian safetensors data in place: a little-endian host is needed"
#endif

static const struct {
    const char *name;
    size_t size;
} dtype_table[DGXM_DTYPE_COUNT] = {
    [DGXM_DTYPE_F32] = { "F32", 4 },   [DGXM_DTYPE_F16] = { "F16", 2 },
    [DGXM_DTYPE_BF16] = { "BF16", 2 }, [DGXM_DTYPE_F64] = { "F64", 8 },
    [DGXM_DTYPE_I64] = { "I64", 8 },   [DGXM_DTYPE_I32] = { "I32", 4 },
    [DGXM_DTYPE_I16] = { "I16", 2 },   [DGXM_DTYPE_I8] = { "I8", 1 },
    [DGXM_DTYPE_U8] = { "U8", 1 },     [DGXM_DTYPE_BOOL] = { "BOOL", 1 },
};

size_t dgxm_dtype_size(dgxm_dtype dtype)
{
    return (unsigned)dtype < DGXM_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

const char *dgxm_dtype_name(dgxm_dtype dtype)
{
    return (unsigned)dtype < DGXM_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

int dgxm_dtype_parse(const char *name)
{
    for (int i = 0; i < DGXM_DTYPE_COUNT; i++)
        if (!strcmp(name, dtype_table[i].name))
            return i;
    return -1;
}

bool dgxm_dtype_is_float(dgxm_dtype dtype)
{
    return dtype == DGXM_DTYPE_F32 || dtype == DGXM_DTYPE_F16 || dtype == DGXM_DTYPE_BF16 ||
           dtype == DGXM_DTYPE_F64;
}

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every half value is exactly
 * representable in binary32, so this is exact; NaN payloads are kept (shifted up). */
float dgxm_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) /* inf or NaN */
        return f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return f32_from_bits(sign);
        /* subnormal: man * 2^-24, exact in float */
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    }
    return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

float dgxm_bf16_to_f32(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

uint16_t dgxm_f32_to_bf16(float f)
{
    uint32_t bits = f32_to_bits(f);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu))
        return (uint16_t)((bits >> 16) | 0x40u); /* NaN stays NaN (quiet), never rounds to inf */
    uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)((bits + rounding) >> 16);
}

dgxm_status dgxm_tensor_to_f32(const dgxm_tensor *t, float *dst, dgxm_error *err)
{
    const unsigned char *src = t->data;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case DGXM_DTYPE_F32:
        if (n)
            memcpy(dst, src, n * sizeof(float));
        return DGXM_OK;
    case DGXM_DTYPE_F16:
    case DGXM_DTYPE_BF16: {
        bool half = t->dtype == DGXM_DTYPE_F16;
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, src + 2 * i, 2); /* data may be unaligned */
            dst[i] = half ? dgxm_f16_to_f32(v) : dgxm_bf16_to_f32(v);
        }
        return DGXM_OK;
    }
    case DGXM_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, src + 8 * i, 8);
            dst[i] = (float)v;
        }
        return DGXM_OK;
    default:
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s: dtype %s is not a floating-point type", t->file,
                              t->name, dgxm_dtype_name(t->dtype));
    }
}

size_t dgxm_shape_format(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = 0;
    int n = snprintf(buf, size, "[");
    used += n > 0 ? (size_t)n : 0;
    for (int i = 0; i < ndim; i++) {
        n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                     i ? ", %lld" : "%lld", (long long)shape[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0, "]");
    used += n > 0 ? (size_t)n : 0;
    return used;
}

dgxm_status dgxm_tensor_check_shape(const dgxm_tensor *t, int ndim, const int64_t *shape,
                                    dgxm_error *err)
{
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (same)
        return DGXM_OK;
    char want[160], have[160];
    dgxm_shape_format(ndim, shape, want, sizeof want);
    dgxm_shape_format(t->ndim, t->shape, have, sizeof have);
    return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s: shape %s, expected %s", t->file,
                          t->name, have, want);
}
