/* What the cmocka tests of the CUDA backend share: see cuda_test_support.h. */
#include "cuda_test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cuda/cuda_backend.h"

dgxm_backend *cuda_backend_or_skip(void)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_cuda_device_count() == 0) {
        dgxm_cuda_backend_new(0, &err); /* for its message */
        print_message("skipping: no CUDA device (%s)\n", err.message);
        skip();
    }
    dgxm_backend *b = dgxm_cuda_backend_new(0, &err);
    if (!b)
        fail_msg("a CUDA device is present but the backend did not start: %s", err.message);
    return b;
}
