/* Random inputs and poisoned outputs for the kernel tests: see test_random.h. */
#include "test_random.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

float test_frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
}

float *test_random_floats(size_t n)
{
    float *p = malloc(n * sizeof *p + 1);
    for (size_t i = 0; p && i < n; i++)
        p[i] = test_frand();
    return p;
}

float *test_poisoned(size_t n)
{
    float *p = malloc(n * sizeof *p + 1);
    for (size_t i = 0; p && i < n; i++)
        p[i] = NAN;
    return p;
}
