/* dgxm doctor: can this machine run the engine on this device, and how well? Reports the
 * build, the CUDA driver and runtime, the device (name, compute capability, SMs, memory with
 * the usable figure on integrated GPUs such as GB10), which kernel image the driver loaded
 * (SASS for this device or PTX compiled at load), a kernel self-test against a float64
 * reference, copy bandwidth, and, with --model, whether that model fits. Ends with one line,
 * "ready: ..." (exit 0) or "not ready: <reason>" (exit 1). One "key: value" per line, so
 * scripts can grep it. */
#include "commands.h"

#include "backend.h"
#include "checkpoint.h"
#include "device_memory.h"
#include "memory_need.h"
#include "model_info.h"
#include "selftest.h"

#ifdef DGXM_HAVE_CUDA
#include "cuda/cuda_backend.h"
#include "cuda/cuda_query.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

typedef struct doctor_args {
    const char *device; /* "cuda", "cuda:N", "cpu" or "auto" */
    const char *model;
    dgxm_weight_format format;
    bool bandwidth;
} doctor_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: dgxm doctor [--device cuda[:N]|cpu|auto] [--model DIR] [--dtype f32|bf16]\n"
               "                   [--no-bandwidth]\n"
               "Checks the device (default cuda:0) and ends with 'ready: ...' (exit 0) or\n"
               "'not ready: <reason>' (exit 1). --model DIR also checks that the model fits.\n");
}

static int parse_args(int argc, char **argv, doctor_args *a)
{
    *a = (doctor_args){ .device = "cuda", .format = DGXM_WEIGHT_BF16, .bandwidth = true };
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(opt, "--no-bandwidth")) {
            a->bandwidth = false;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dgxm doctor: %s needs a value\n", opt);
            return -1;
        }
        const char *val = argv[++i];
        if (!strcmp(opt, "--device")) {
            a->device = val;
        } else if (!strcmp(opt, "--model")) {
            a->model = val;
        } else if (!strcmp(opt, "--dtype") && (!strcmp(val, "f32") || !strcmp(val, "bf16"))) {
            a->format = !strcmp(val, "f32") ? DGXM_WEIGHT_F32 : DGXM_WEIGHT_BF16;
        } else {
            fprintf(stderr, "dgxm doctor: unknown option or value '%s %s'\n", opt, val);
            usage(stderr);
            return -1;
        }
    }
    const char *d = a->device;
    if (strcmp(d, "cpu") != 0 && strcmp(d, "auto") != 0 && strcmp(d, "cuda") != 0 &&
        (strncmp(d, "cuda:", 5) != 0 || !d[5] || strspn(d + 5, "0123456789") != strlen(d + 5))) {
        fprintf(stderr, "dgxm doctor: --device %s: use cuda, cuda:N, cpu or auto\n", d);
        return -1;
    }
    return 0;
}

static int not_ready(const char *why)
{
    printf("not ready: %s\n", why);
    return 1;
}

static void print_selftest(const dgxm_selftest *st)
{
    for (int i = 0; i < st->count; i++) {
        const dgxm_selftest_case *c = &st->cases[i];
        printf("  %-40s max rel err %.2e (tolerance %.0e) %s\n", c->name, c->max_rel_err,
               c->tolerance, c->pass ? "pass" : "FAIL");
    }
    printf("%-24s %s (%d cases, worst max rel err %.2e, vs a float64 reference)\n",
           "self-test:", st->pass ? "pass" : "FAIL", st->count, st->worst_rel_err);
}

/* With --model: the estimate against the usable memory. Returns 0 when it fits. */
static int check_model(const doctor_args *a, const dgxm_device_memory *mem, const char *device,
                       char *why, size_t why_len)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(a->model, &err);
    if (!ck) {
        snprintf(why, why_len, "%s", err.message);
        return -1;
    }
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    dgxm_memory_need need;
    dgxm_memory_need_estimate(dgxm_checkpoint_config(ck), a->format, info.codec_bytes_f32, &need);
    dgxm_checkpoint_free(ck);
    printf("%-24s %s (%s), %s weights: needs about %.2f GiB (decoder %.2f, T5 %.2f, EnCodec "
           "%.2f, KV cache %.2f, working %.2f)\n",
           "model:", a->model, info.size_class, dgxm_weight_format_name(a->format),
           need.total / GIB, need.decoder / GIB, need.t5 / GIB, need.codec / GIB,
           need.kv_cache / GIB, need.working / GIB);
    if (dgxm_memory_need_check(a->model, device, a->format, &need, mem->available, mem->source,
                               &err)) {
        snprintf(why, why_len, "%s", err.message);
        return -1;
    }
    printf("%-24s yes (%.2f GiB of %.2f GiB usable)\n", "model fits:", need.total / GIB,
           mem->available / GIB);
    return 0;
}

static int doctor_cpu(const doctor_args *a)
{
    char why[DGXM_ERROR_MESSAGE_MAX + 64];
    dgxm_error err;
    dgxm_error_clear(&err);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("%-24s cpu (%ld online cores)\n", "device:", cores);
    dgxm_backend *b = dgxm_cpu_backend_new(0, &err);
    if (!b) {
        snprintf(why, sizeof why, "the CPU backend did not start: %s", err.message);
        return not_ready(why);
    }
    dgxm_device_memory mem;
    dgxm_device_memory_get(b, &mem, &err);
    printf("%-24s %.2f GiB total, %.2f GiB usable (%s)\n", "memory:", mem.total / GIB,
           mem.available / GIB, mem.source);
    dgxm_selftest st;
    dgxm_status s = dgxm_selftest_run(b, &st, &err);
    b->ops->destroy(b);
    if (s) {
        snprintf(why, sizeof why, "the CPU self-test could not run: %s", err.message);
        return not_ready(why);
    }
    print_selftest(&st);
    if (!st.pass)
        return not_ready("the CPU kernels disagree with the float64 reference (see above)");
    if (a->model && check_model(a, &mem, "cpu", why, sizeof why))
        return not_ready(why);
    printf("ready: the CPU backend on %ld cores passes the self-test\n", cores);
    return 0;
}

#ifdef DGXM_HAVE_CUDA
static void print_versions(const dgxm_cuda_probe_result *p)
{
    if (p->driver_version)
        printf("%-24s CUDA %d.%d (%d)\n", "driver:", p->driver_version / 1000,
               p->driver_version % 1000 / 10, p->driver_version);
    else
        printf("%-24s none found (libcuda.so.1 is not installed or not loadable)\n", "driver:");
    printf("%-24s CUDA %d.%d (linked statically)\n", "runtime:", p->runtime_version / 1000,
           p->runtime_version % 1000 / 10);
    printf("%-24s %d\n", "devices:", p->device_count);
}

/* Which image the driver loaded for our kernels: SASS compiled for this device (or a
 * compatible family build), or PTX that the driver compiled at load (JIT: slower first start,
 * cached afterwards, and a sign the build lacks this device's target). */
static void print_image(const dgxm_cuda_info *in)
{
    const int cc = in->cc_major * 10 + in->cc_minor;
    if (in->binary_version != in->ptx_version)
        printf("%-24s JIT: PTX compute_%d compiled by the driver for sm_%d (this build has no "
               "SASS for compute capability %d.%d; built: %s)\n",
               "kernel image:", in->ptx_version, in->binary_version, in->cc_major, in->cc_minor,
               dgxm_cuda_built_archs());
    else if (in->binary_version == cc)
        printf("%-24s SASS sm_%d (machine code for this device; built: %s)\n",
               "kernel image:", in->binary_version, dgxm_cuda_built_archs());
    else
        printf("%-24s SASS sm_%d (a compatible family build for compute capability %d.%d; "
               "built: %s)\n",
               "kernel image:", in->binary_version, in->cc_major, in->cc_minor,
               dgxm_cuda_built_archs());
}

static void print_memory(const dgxm_device_memory *mem)
{
    if (mem->integrated)
        printf("%-24s unified with the host (integrated GPU): %.2f GiB total, %.2f GiB usable "
               "(host MemAvailable); cudaMemGetInfo says %.2f GiB free, which on integrated GPUs "
               "such as GB10 misses the page cache the kernel can reclaim, so it is not used\n",
               "memory:", mem->total / GIB, mem->available / GIB, mem->driver_free / GIB);
    else
        printf("%-24s %.2f GiB on the device (discrete), %.2f GiB free (cudaMemGetInfo)\n",
               "memory:", mem->total / GIB, mem->available / GIB);
}

static int doctor_cuda(const doctor_args *a, int device)
{
    char why[DGXM_ERROR_MESSAGE_MAX + 64], name[16];
    dgxm_error err;
    dgxm_error_clear(&err);
    snprintf(name, sizeof name, "cuda:%d", device);
    printf("%-24s CUDA backend, targets %s\n", "build:", dgxm_cuda_built_archs());
    dgxm_cuda_probe_result p;
    dgxm_cuda_probe(&p);
    print_versions(&p);
    if (p.device_count == 0) {
        snprintf(why, sizeof why, "no CUDA device: %s",
                 p.error[0] ? p.error : "the driver lists none");
        return not_ready(why);
    }
    dgxm_backend *b = dgxm_cuda_backend_new(device, &err);
    if (!b) {
        snprintf(why, sizeof why, "the CUDA backend did not start on %s: %s", name, err.message);
        return not_ready(why);
    }
    const dgxm_cuda_info *in = dgxm_cuda_backend_info(b);
    printf("%-24s %s: %s\n", "device:", name, in->name);
    printf("%-24s %d.%d\n", "compute capability:", in->cc_major, in->cc_minor);
    printf("%-24s %d\n", "SMs:", in->sm_count);
    printf("%-24s %.1f MiB\n", "L2:", in->l2_bytes / (1024.0 * 1024.0));
    printf("%-24s %s\n", "pageable memory access:", in->pageable_memory_access ? "yes" : "no");
    int rc = 1;
    dgxm_device_memory mem;
    if (dgxm_device_memory_get(b, &mem, &err)) {
        snprintf(why, sizeof why, "cannot read %s's memory: %s", name, err.message);
        goto out;
    }
    print_memory(&mem);
    print_image(in);
    printf("%-24s %s\n", "matrix products:", dgxm_cuda_backend_gemm_library(b));
    dgxm_selftest st;
    if (dgxm_selftest_run(b, &st, &err)) {
        snprintf(why, sizeof why, "the self-test failed to run on %s: %s", name, err.message);
        goto out;
    }
    print_selftest(&st);
    if (!st.pass) {
        snprintf(why, sizeof why,
                 "%s's kernels disagree with the float64 reference (worst max "
                 "rel err %.2e, see above)",
                 name, st.worst_rel_err);
        goto out;
    }
    if (a->bandwidth) {
        dgxm_cuda_bandwidth bw;
        if (dgxm_cuda_measure_bandwidth(b, (size_t)256 << 20, 5, &bw, &err)) {
            snprintf(why, sizeof why, "the copy bandwidth test failed on %s: %s", name,
                     err.message);
            goto out;
        }
        printf("%-24s host->device %.1f GB/s, device->host %.1f GB/s (pinned, 256 MiB)\n",
               "copy bandwidth:", bw.h2d_gbs, bw.d2h_gbs);
        printf("%-24s %.1f GB/s copied (%.1f GB/s of reads + writes)\n",
               "device->device:", bw.d2d_gbs, 2.0 * bw.d2d_gbs);
    }
    if (a->model && check_model(a, &mem, name, why, sizeof why))
        goto out;
    printf("ready: %s %s (compute capability %d.%d, %d SMs, %s sm_%d) passes the self-test\n", name,
           in->name, in->cc_major, in->cc_minor, in->sm_count,
           in->binary_version == in->ptx_version ? "SASS" : "JIT for", in->binary_version);
    rc = 0;
out:
    b->ops->destroy(b);
    return rc ? not_ready(why) : 0;
}
#endif

int dgxm_cmd_doctor(int argc, char **argv)
{
    doctor_args a;
    if (parse_args(argc, argv, &a))
        return 2;
    const char *d = a.device;
    if (!strcmp(d, "cpu"))
        return doctor_cpu(&a);
#ifdef DGXM_HAVE_CUDA
    if (!strcmp(d, "auto")) {
        dgxm_cuda_probe_result p;
        dgxm_cuda_probe(&p);
        if (p.device_count > 0)
            return doctor_cuda(&a, 0);
        printf("notice: device auto: running on the CPU: no CUDA device (%s)\n",
               p.error[0] ? p.error : "the driver lists none");
        return doctor_cpu(&a);
    }
    return doctor_cuda(&a, !strcmp(d, "cuda") ? 0 : (int)strtol(d + 5, NULL, 10));
#else
    if (!strcmp(d, "auto")) {
        printf("notice: device auto: running on the CPU: built without the CUDA backend\n");
        return doctor_cpu(&a);
    }
    printf("%-24s CPU only\n", "build:");
    return not_ready("built without the CUDA backend (rebuild where nvcc is installed, or use "
                     "--device cpu)");
#endif
}
