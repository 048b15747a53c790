/* What can be checked of the device policy without a GPU: the memory estimate against the
 * parameter counts of the released models, the "does not fit" message, the host's
 * MemAvailable, the CPU self-test of `dgxm doctor`, and "auto" falling back to the CPU with a
 * notice on a machine without a CUDA device. Cases that need a GPU (the memory check of a real
 * device, a kernel fault) are in tests/test_cuda_fault.c; here they are skipped with a
 * message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backend.h"
#include "dgxm/engine.h"
#include "memory_need.h"
#include "selftest.h"
#include "test_support.h"

#ifdef DGXM_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#include <stdio.h>
#include <string.h>

/* CUDA's driver maps memory where ASan keeps its shadow gap (see test_cuda_ops.c). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "protect_shadow_gap=0";
}

static int cuda_devices(void)
{
#ifdef DGXM_HAVE_CUDA
    return dgxm_cuda_device_count();
#else
    return 0;
#endif
}

/* The released configs: t5-base for every size, EnCodec 32 kHz. */
static dgxm_model_config released(int hidden, int layers, int heads, int ffn)
{
    dgxm_model_config c = { 0 };
    c.t5 = (dgxm_t5_config){ .vocab_size = 32128,
                             .d_model = 768,
                             .d_kv = 64,
                             .num_heads = 12,
                             .num_layers = 12,
                             .d_ff = 3072 };
    c.decoder = (dgxm_decoder_config){ .hidden_size = hidden,
                                       .num_layers = layers,
                                       .num_heads = heads,
                                       .ffn_dim = ffn,
                                       .vocab_size = 2048,
                                       .num_codebooks = 4,
                                       .max_position_embeddings = 2048 };
    c.encodec.sampling_rate = 32000;
    c.encodec.num_filters = 64;
    c.encodec.frame_rate = 50.0;
    return c;
}

/* Decoder parameters the Hugging Face baseline prints (docs: gpu-performance.md) for small,
 * medium and large: f32 bytes / 4 must match them within 0.1 % (norms are the difference). */
static void decoder_estimate_matches_the_released_parameter_counts(void **state)
{
    (void)state;
    const struct {
        int hidden, layers, heads, ffn;
        double params;
    } sizes[] = { { 1024, 24, 16, 4096, 419.6e6 },
                  { 1536, 48, 24, 6144, 1837.6e6 },
                  { 2048, 48, 32, 8192, 3255.4e6 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        dgxm_model_config c =
            released(sizes[i].hidden, sizes[i].layers, sizes[i].heads, sizes[i].ffn);
        dgxm_memory_need f32, bf16;
        dgxm_memory_need_estimate(&c, DGXM_WEIGHT_F32, 0, &f32);
        dgxm_memory_need_estimate(&c, DGXM_WEIGHT_BF16, 0, &bf16);
        double params = f32.decoder / 4.0;
        assert_true(params > sizes[i].params * 0.999 && params < sizes[i].params * 1.001);
        /* bf16 halves the matrices but not the f32 embeddings and norms */
        assert_true(bf16.decoder < f32.decoder * 0.52 && bf16.decoder > f32.decoder * 0.5);
        /* t5-base + the projection: 109.6 M + hidden * 768 + hidden floats */
        double t5 = f32.t5 / 4.0 - (double)sizes[i].hidden * 769;
        assert_true(t5 > 109.5e6 && t5 < 109.7e6);
        /* 30 s: 1504 positions x 2 rows x K and V of every layer, f32 */
        int64_t kv = 2LL * sizes[i].layers * 1504 * 2 * sizes[i].hidden * 4;
        assert_true(f32.kv_cache >= kv && f32.kv_cache < kv + kv / 2);
        assert_int_equal(f32.total, f32.t5 + f32.decoder + f32.codec + f32.kv_cache + f32.working);
    }
}

static void too_little_memory_names_model_bytes_and_source(void **state)
{
    (void)state;
    dgxm_model_config c = released(2048, 48, 32, 8192);
    dgxm_memory_need need;
    dgxm_memory_need_estimate(&c, DGXM_WEIGHT_F32, 123456789, &need);
    dgxm_error err;
    dgxm_error_clear(&err);
    const int64_t avail = 8LL << 30;
    dgxm_status s = dgxm_memory_need_check("/models/musicgen-large", "cuda:0", DGXM_WEIGHT_F32,
                                           &need, avail, "cudaMemGetInfo free", &err);
    assert_int_equal(s, DGXM_ERR_NOMEM);
    char needed[32], available[32];
    snprintf(needed, sizeof needed, "%lld bytes", (long long)need.total);
    snprintf(available, sizeof available, "%lld bytes", (long long)avail);
    assert_non_null(strstr(err.message, "/models/musicgen-large"));
    assert_non_null(strstr(err.message, "cuda:0"));
    assert_non_null(strstr(err.message, needed));
    assert_non_null(strstr(err.message, available));
    assert_non_null(strstr(err.message, "cudaMemGetInfo free"));
    assert_non_null(strstr(err.message, "f32"));

    dgxm_error_clear(&err);
    assert_int_equal(
        dgxm_memory_need_check("m", "cuda:0", DGXM_WEIGHT_F32, &need, need.total, "x", &err),
        DGXM_OK);
    assert_int_equal(err.status, DGXM_OK);
}

static void host_mem_available_is_read(void **state)
{
    (void)state;
    int64_t avail = dgxm_host_mem_available();
    assert_true(avail > (int64_t)64 << 20);
}

static void cpu_self_test_passes(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(2, &err);
    assert_non_null(b);
    dgxm_selftest st;
    assert_int_equal(dgxm_selftest_run(b, &st, &err), DGXM_OK);
    b->ops->destroy(b);
    assert_true(st.pass);
    assert_true(st.count >= 5);
    assert_true(st.worst_rel_err < 1e-5);
}

static void auto_falls_back_to_the_cpu_with_a_notice(void **state)
{
    (void)state;
    if (cuda_devices() > 0) {
        print_message("skipping: a CUDA device is present, auto runs on it (see "
                      "test_cuda_fault)\n");
        skip();
    }
    dgxm_error err;
    dgxm_error_clear(&err);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models/mono"));
    dgxm_engine_config cfg = { .model_dir = dir, .device = "auto", .cpu_threads = 1 };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
    assert_non_null(e);
    dgxm_engine_info info;
    dgxm_engine_get_info(e, &info);
    assert_string_equal(info.device, "cpu");
    assert_non_null(strstr(info.notice, "running on the CPU"));
#ifdef DGXM_HAVE_CUDA
    assert_non_null(strstr(info.notice, "no CUDA device"));
#else
    assert_non_null(strstr(info.notice, "no CUDA backend"));
#endif
    dgxm_engine_release(e);

    /* a bad folder is the folder's fault, not the device's: named, not retried as cpu */
    dgxm_error_clear(&err);
    cfg.model_dir = "/nonexistent/musicgen-auto";
    assert_null(dgxm_engine_acquire(&cfg, &err));
    assert_non_null(strstr(err.message, "/nonexistent/musicgen-auto"));
}

static void cuda_without_a_device_names_the_cuda_error(void **state)
{
    (void)state;
#ifndef DGXM_HAVE_CUDA
    print_message("skipping: built without the CUDA backend\n");
    skip();
#else
    if (cuda_devices() > 0) {
        print_message("skipping: a CUDA device is present\n");
        skip();
    }
    dgxm_error err;
    dgxm_error_clear(&err);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models/mono"));
    dgxm_engine_config cfg = { .model_dir = dir, .device = "cuda:0" };
    assert_null(dgxm_engine_acquire(&cfg, &err));
    assert_int_equal(err.status, DGXM_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "no CUDA device"));
    assert_non_null(strstr(err.message, "cudaError")); /* the CUDA error's name */
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decoder_estimate_matches_the_released_parameter_counts),
        cmocka_unit_test(too_little_memory_names_model_bytes_and_source),
        cmocka_unit_test(host_mem_available_is_read),
        cmocka_unit_test(cpu_self_test_passes),
        cmocka_unit_test(auto_falls_back_to_the_cpu_with_a_notice),
        cmocka_unit_test(cuda_without_a_device_names_the_cuda_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
