/* A quick kernel self-test of any backend, for `dgxm doctor`: a few ops at model shapes (the
 * decode GEMV in float32 and bf16, the T5-sized GEMM, layer norm, decode attention) on fixed
 * pseudo-random data, each compared with a float64 host reference (the oracle the CPU
 * backend's own tests use; bf16 cases are compared with the reference fed the same
 * bf16-rounded weights). It proves that this binary's kernels load and compute correctly on
 * this device; it is not the full test suite (tests/test_cuda_ops.c is).
 *
 * Threads: the engine thread that owns the backend (every backend call is made on it). Takes
 * about 0.1 s on a GPU and a few seconds on a slow CPU.
 */
#ifndef DGXM_SELFTEST_H
#define DGXM_SELFTEST_H

#include "backend.h"

#include <stdbool.h>

enum {
    DGXM_SELFTEST_MAX_CASES = 8
};

typedef struct dgxm_selftest_case {
    char name[64];      /* "linear bf16 m=2 4096x1024" */
    double max_rel_err; /* max |got - ref| / max |ref| */
    double tolerance;   /* pass when max_rel_err <= tolerance and every output is finite */
    bool pass;
} dgxm_selftest_case;

typedef struct dgxm_selftest {
    int count;
    dgxm_selftest_case cases[DGXM_SELFTEST_MAX_CASES];
    bool pass;            /* every case passed */
    double worst_rel_err; /* the largest max_rel_err */
} dgxm_selftest;

/* Runs every case on b and fills *out. Returns DGXM_OK when every case ran, whatever the
 * numbers (out->pass says whether they were right); a failing backend call returns its status
 * and message (DGXM_ERR_BACKEND with the CUDA error, DGXM_ERR_NOMEM). */
dgxm_status dgxm_selftest_run(dgxm_backend *b, dgxm_selftest *out, dgxm_error *err);

#endif
