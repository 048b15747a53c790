/* Fresh random test inputs and poisoned outputs for the kernel tests. */
#ifndef DGXM_TEST_RANDOM_H
#define DGXM_TEST_RANDOM_H

#include <stddef.h>

/* Uniform in [-1, 1), from one xorshift stream per test program. */
float test_frand(void);
/* n such floats, malloc'ed. */
float *test_random_floats(size_t n);
/* n NaNs, malloc'ed: an output element a kernel fails to write stays NaN. */
float *test_poisoned(size_t n);

#endif
