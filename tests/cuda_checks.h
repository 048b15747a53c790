/* The CUDA backend's op checks, shared by the cmocka test (tests/test_cuda_ops.c) and the
 * standalone device driver (tests/cuda_device_check.c, no test framework, for GPU machines).
 *
 * Every check draws fresh random inputs, runs the op on the CUDA backend and on the CPU backend
 * (the oracle), with both outputs poisoned with NaN first, and compares them:
 * ||gpu - cpu|| / ||cpu|| must stay within the tolerance (1e-5 for float32 weights, 1e-2 for
 * bf16 weights against the float32 oracle) and no element may be NaN. */
#ifndef DGXM_CUDA_CHECKS_H
#define DGXM_CUDA_CHECKS_H

#include "backend.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct cuda_check_result {
    char op[24];
    char shape[112];
    double rel_error; /* ||gpu - cpu|| / ||cpu|| (absolute when the oracle is all zeros) */
    double max_error; /* max |gpu - cpu| / max |cpu| */
    double tol;
    bool ok;
    char message[256]; /* why it failed */
} cuda_check_result;

typedef struct cuda_checks {
    dgxm_backend *gpu, *cpu;
    uint64_t rng;
    /* Called once per case with its result. */
    void (*report)(void *ctx, const cuda_check_result *r);
    void *ctx;
    int run, failed;
} cuda_checks;

/* Group names, NULL-terminated: linear, norm, activation, rows, attention, conv, lstm, errors. */
extern const char *const cuda_check_groups[];

/* Runs every case of one group; returns the number that failed. */
int cuda_checks_run_group(cuda_checks *c, const char *group);

/* Mean microseconds per call of linear (rows x cols weights, m activation rows), rotating over
 * enough weight copies that they do not fit in the L2 cache; 0 on failure (message in err). */
double cuda_checks_time_linear(cuda_checks *c, dgxm_weight_format format, int m, int rows, int cols,
                               int calls, dgxm_error *err);

#endif
