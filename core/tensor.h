/* A read-only view of one stored tensor (a safetensors entry), and dtype conversion.
 *
 * A dgxm_tensor never owns its data: it points into a memory-mapped checkpoint file and lives
 * as long as the dgxm_safetensors / dgxm_weights object it came from.
 */
#ifndef DGXM_TENSOR_H
#define DGXM_TENSOR_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    DGXM_TENSOR_MAX_DIMS = 8
};

typedef enum dgxm_dtype {
    DGXM_DTYPE_F32,
    DGXM_DTYPE_F16,
    DGXM_DTYPE_BF16,
    DGXM_DTYPE_F64,
    DGXM_DTYPE_I64,
    DGXM_DTYPE_I32,
    DGXM_DTYPE_I16,
    DGXM_DTYPE_I8,
    DGXM_DTYPE_U8,
    DGXM_DTYPE_BOOL,
    DGXM_DTYPE_COUNT
} dgxm_dtype;

typedef struct dgxm_tensor {
    const char *name; /* the tensor's key in the header */
    const char *file; /* path of the file holding it, for messages */
    dgxm_dtype dtype;
    int ndim;
    int64_t shape[DGXM_TENSOR_MAX_DIMS];
    int64_t numel;
    const void *data; /* little-endian, row-major, not necessarily aligned */
    size_t nbytes;
} dgxm_tensor;

/* Size in bytes of one element; the safetensors spelling ("F32", "BF16", ...) and back.
 * Any thread. dgxm_dtype_parse returns -1 for an unknown spelling. */
size_t dgxm_dtype_size(dgxm_dtype dtype);
const char *dgxm_dtype_name(dgxm_dtype dtype);
int dgxm_dtype_parse(const char *name);

/* True for F32, F16, BF16 and F64: the dtypes dgxm_tensor_to_f32 converts. Any thread. */
bool dgxm_dtype_is_float(dgxm_dtype dtype);

/* Converts a whole floating-point tensor (F32, F16, BF16, F64) to float32 into dst, which holds
 * t->numel floats. Integer tensors give DGXM_ERR_FORMAT naming the tensor. Any thread. */
dgxm_status dgxm_tensor_to_f32(const dgxm_tensor *t, float *dst, dgxm_error *err);

/* Writes shape as "[a, b, c]" into buf (always NUL-terminated when size > 0); returns the length
 * the full text needs, like snprintf. Any thread. */
size_t dgxm_shape_format(int ndim, const int64_t *shape, char *buf, size_t size);

/* Checks that t has exactly the given shape; on mismatch the message names the tensor, its file,
 * the expected and the stored shape. Any thread. */
dgxm_status dgxm_tensor_check_shape(const dgxm_tensor *t, int ndim, const int64_t *shape,
                                    dgxm_error *err);

/* IEEE half and bfloat16 to float32 (exact, subnormals, infinities and NaN included) and float32
 * to bfloat16 (round to nearest even; NaN stays a quiet NaN). Any thread. */
float dgxm_f16_to_f32(uint16_t h);
float dgxm_bf16_to_f32(uint16_t b);
uint16_t dgxm_f32_to_bf16(float f);

#endif
