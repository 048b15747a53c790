/* Every op of the CUDA backend against the CPU backend on fresh random inputs at the model's
 * shapes, outputs poisoned first (the cases live in cuda_checks.c). Without a CUDA device (CI)
 * every case is skipped with a message saying so; with a device whose kernels cannot run, the
 * start-up check fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cuda/cuda_backend.h"
#include "cuda_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CUDA's driver maps memory where ASan keeps its shadow gap; the sanitizer build needs the gap
 * unprotected to initialise CUDA at all. Read by ASan before main; unused otherwise. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "protect_shadow_gap=0";
}

typedef struct fixture {
    dgxm_backend *gpu, *cpu;
    char why[DGXM_ERROR_MESSAGE_MAX]; /* why there is no GPU backend */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_cuda_device_count() == 0) {
        dgxm_cuda_backend_new(0, &err); /* for its message */
        snprintf(f->why, sizeof f->why, "%s", err.message);
        return 0;
    }
    f->gpu = dgxm_cuda_backend_new(0, &err);
    if (!f->gpu)
        snprintf(f->why, sizeof f->why, "%s", err.message);
    dgxm_error_clear(&err);
    f->cpu = dgxm_cpu_backend_new(0, &err);
    return f->cpu ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->gpu)
        f->gpu->ops->destroy(f->gpu);
    if (f->cpu)
        f->cpu->ops->destroy(f->cpu);
    free(f);
    return 0;
}

static void report(void *ctx, const cuda_check_result *r)
{
    (void)ctx;
    print_message("%-18s %-46s rel %.2e max %.2e %s%s\n", r->op, r->shape, r->rel_error,
                  r->max_error, r->ok ? "ok" : "FAILED: ", r->ok ? "" : r->message);
}

static void run_group(void **state, const char *group)
{
    fixture *f = *state;
    if (dgxm_cuda_device_count() == 0) {
        print_message("skipping the CUDA %s checks: %s\n", group, f->why);
        skip();
    }
    if (!f->gpu)
        fail_msg("a CUDA device is present but the backend did not start: %s", f->why);
    cuda_checks c = {
        .gpu = f->gpu, .cpu = f->cpu, .rng = 0x853c49e6748fea9bull, .report = report
    };
    int failed = cuda_checks_run_group(&c, group);
    if (failed)
        fail_msg("%d of %d %s cases failed", failed, c.run, group);
}

static void linear_matches_cpu(void **state)
{
    run_group(state, "linear");
}

static void norms_match_cpu(void **state)
{
    run_group(state, "norm");
}

static void activations_match_cpu(void **state)
{
    run_group(state, "activation");
}

static void row_ops_match_cpu(void **state)
{
    run_group(state, "rows");
}

static void attention_matches_cpu(void **state)
{
    run_group(state, "attention");
}

static void convolutions_match_cpu(void **state)
{
    run_group(state, "conv");
}

static void lstm_matches_cpu(void **state)
{
    run_group(state, "lstm");
}

static void errors_are_reported(void **state)
{
    run_group(state, "errors");
}

/* A second backend started under name=value runs the linear, convolution and LSTM groups
 * against the CPU, after its start-up reported `reported` (NULL: no check). */
static void groups_with_setting(void **state, const char *name, const char *value,
                                const char *reported)
{
    fixture *f = *state;
    setenv(name, value, 1);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *other = dgxm_cuda_device_count() ? dgxm_cuda_backend_new(0, &err) : NULL;
    unsetenv(name);
    if (other) {
        const char *lib = dgxm_cuda_backend_gemm_library(other);
        print_message("with %s=%s: %s\n", name, value, lib);
        if (reported && strstr(lib, reported) == NULL) {
            other->ops->destroy(other);
            fail_msg("%s=%s reports \"%s\", not \"%s\"", name, value, lib, reported);
        }
    }
    dgxm_backend *shared = f->gpu;
    f->gpu = other;
    if (other || dgxm_cuda_device_count() == 0) {
        run_group(state, "linear");
        run_group(state, "conv");
        run_group(state, "lstm");
    }
    f->gpu = shared;
    if (other)
        other->ops->destroy(other);
    else if (dgxm_cuda_device_count())
        fail_msg("the backend did not start with %s=%s: %s", name, value, err.message);
}

/* The matrix products where cuBLASLt is not used (DGXM_CUDA_CUBLASLT=0, as on a machine without
 * it): the backend's own GEMM against the CPU on the same cases, and the start-up says so. The
 * fixture's backend runs whichever the machine has; this names it. */
static void own_gemm_matches_cpu(void **state)
{
    fixture *f = *state;
    if (f->gpu)
        print_message("matrix products of the default backend: %s\n",
                      dgxm_cuda_backend_gemm_library(f->gpu));
    groups_with_setting(state, "DGXM_CUDA_CUBLASLT", "0", "own kernels");
}

/* The float32 products through cuBLASLt (off by default: DGXM_CUDA_CUBLASLT_F32=1), where the
 * library loads; where it does not, the same groups on the own kernels. */
static void library_float32_gemm_matches_cpu(void **state)
{
    fixture *f = *state;
    const char *lib = f->gpu ? dgxm_cuda_backend_gemm_library(f->gpu) : "";
    const bool loaded = strstr(lib, "cuBLASLt ") == lib;
    if (f->gpu && !loaded)
        print_message("cuBLASLt is not loaded here (%s): the own kernels run\n", lib);
    groups_with_setting(state, "DGXM_CUDA_CUBLASLT_F32", "1",
                        loaded ? "the fold and the float32 GEMMs" : NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_matches_cpu),    cmocka_unit_test(norms_match_cpu),
        cmocka_unit_test(activations_match_cpu), cmocka_unit_test(row_ops_match_cpu),
        cmocka_unit_test(attention_matches_cpu), cmocka_unit_test(convolutions_match_cpu),
        cmocka_unit_test(lstm_matches_cpu),      cmocka_unit_test(errors_are_reported),
        cmocka_unit_test(own_gemm_matches_cpu),  cmocka_unit_test(library_float32_gemm_matches_cpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
