/* The CUDA backend checked on a GPU machine without the test framework: the device facts from
 * the start-up check, every case of cuda_checks.c as a table (op, shape, relative error, result)
 * and a first timing of the decode GEMV. Exit status 0 when every case passed, 1 when one
 * failed, 2 when the backend did not start.
 *
 *   cuda_device_check [--no-timing] [group ...]
 */
#include "cuda/cuda_backend.h"
#include "cuda_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(void *ctx, const cuda_check_result *r)
{
    (void)ctx;
    printf("%-18s %-46s %10.2e %10.2e %8.0e  %s%s\n", r->op, r->shape, r->rel_error, r->max_error,
           r->tol, r->ok ? "pass" : "FAIL: ", r->ok ? "" : r->message);
    fflush(stdout);
}

static void print_device(const dgxm_backend *gpu)
{
    const dgxm_cuda_info *in = dgxm_cuda_backend_info(gpu);
    printf("device %d: %s, compute capability %d.%d, %d SMs, %.1f GiB, L2 %.1f MiB, shared memory "
           "per block %zu (opt-in %zu) bytes\n",
           in->device, in->name, in->cc_major, in->cc_minor, in->sm_count,
           in->global_mem_bytes / 1073741824.0, in->l2_bytes / 1048576.0, in->smem_per_block,
           in->smem_per_block_optin);
    printf("integrated %s, pageable memory access %s, cooperative launch %s\n",
           in->integrated ? "yes" : "no", in->pageable_memory_access ? "yes" : "no",
           in->cooperative_launch ? "yes" : "no");
    printf("kernel image loaded: binary version %d, PTX version %d; runtime %d, driver %d\n",
           in->binary_version, in->ptx_version, in->runtime_version, in->driver_version);
    printf("this binary carries: %s\n\n", dgxm_cuda_built_archs());
}

static void time_linear(cuda_checks *c, dgxm_weight_format f, int m, int rows, int cols)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    const double bytes = (double)rows * cols * (f == DGXM_WEIGHT_BF16 ? 2 : 4);
    double us = cuda_checks_time_linear(c, f, m, rows, cols, 2000, &err);
    if (us <= 0) {
        printf("timing linear: %s\n", err.message);
        return;
    }
    printf("linear %-4s m=%d %5dx%-5d  %8.2f us per call  %7.1f GB/s of weights\n",
           f == DGXM_WEIGHT_BF16 ? "bf16" : "f32", m, rows, cols, us, bytes / us / 1e3);
}

int main(int argc, char **argv)
{
    bool timing = true;
    int first_group = 1;
    if (argc > 1 && !strcmp(argv[1], "--no-timing"))
        timing = false, first_group = 2;
    dgxm_error err;
    dgxm_error_clear(&err);
    printf("CUDA devices: %d\n", dgxm_cuda_device_count());
    dgxm_backend *gpu = dgxm_cuda_backend_new(0, &err);
    if (!gpu) {
        printf("cuda backend did not start: %s: %s\n", dgxm_status_name(err.status), err.message);
        return 2;
    }
    print_device(gpu);
    dgxm_error_clear(&err);
    dgxm_backend *cpu = dgxm_cpu_backend_new(0, &err);
    if (!cpu) {
        printf("cpu backend: %s\n", err.message);
        return 2;
    }
    cuda_checks c = { .gpu = gpu, .cpu = cpu, .rng = 0x853c49e6748fea9bull, .report = report };
    printf("%-18s %-46s %10s %10s %8s  %s\n", "op", "shape", "rel err", "max err", "tol", "result");
    if (argc > first_group)
        for (int i = first_group; i < argc; i++)
            cuda_checks_run_group(&c, argv[i]);
    else
        for (int i = 0; cuda_check_groups[i]; i++)
            cuda_checks_run_group(&c, cuda_check_groups[i]);
    printf("\n%d cases, %d failed\n", c.run, c.failed);

    if (timing) {
        printf("\nlinear timing (2000 calls, weights rotated through copies larger than L2; "
               "includes launch):\n");
        time_linear(&c, DGXM_WEIGHT_BF16, 2, 4096, 1024);
        time_linear(&c, DGXM_WEIGHT_BF16, 2, 1024, 4096);
        time_linear(&c, DGXM_WEIGHT_BF16, 1, 4096, 1024);
        time_linear(&c, DGXM_WEIGHT_F32, 2, 4096, 1024);
        time_linear(&c, DGXM_WEIGHT_BF16, 2, 8192, 2048);
    }
    gpu->ops->destroy(gpu);
    cpu->ops->destroy(cpu);
    return c.failed ? 1 : 0;
}
