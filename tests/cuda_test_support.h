/* What the cmocka tests of the CUDA backend share (linked into every tests/test_cuda_*).
 *
 * Test thread only. The backend returned belongs to the caller (ops->destroy).
 */
#ifndef DGXM_TESTS_CUDA_TEST_SUPPORT_H
#define DGXM_TESTS_CUDA_TEST_SUPPORT_H

#include "backend.h"

/* The CUDA backend on device 0. Without a device the calling case is skipped, and says why (the
 * backend's own message); a device whose backend does not start fails the case. */
dgxm_backend *cuda_backend_or_skip(void);

#endif
