/* safetensors files: every way a header can be wrong is refused with a message naming the file
 * and the tensor or field; valid files map their tensors; dtype conversions are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "safetensors.h"
#include "safetensors_writer.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup_dir(void **state)
{
    *state = test_make_temp_dir();
    return *state ? 0 : -1;
}

static int remove_dir(void **state)
{
    test_remove_tree(*state);
    free(*state);
    return 0;
}

static char *path_in(const char *dir, const char *file)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, file) > 0);
    return p;
}

/* Opens dir/x.safetensors expecting failure with status code and every needle in the message
 * (plus the file path). */
static void expect_failure(const char *dir, dgxm_status code, const char *needle1,
                           const char *needle2)
{
    char *path = path_in(dir, "x.safetensors");
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_safetensors *st = dgxm_safetensors_open(path, &err);
    if (st || err.status != code || !strstr(err.message, path) ||
        (needle1 && !strstr(err.message, needle1)) || (needle2 && !strstr(err.message, needle2)))
        print_error("status %d message: %s\n", err.status, err.message);
    assert_null(st);
    assert_int_equal(err.status, code);
    assert_non_null(strstr(err.message, path));
    if (needle1)
        assert_non_null(strstr(err.message, needle1));
    if (needle2)
        assert_non_null(strstr(err.message, needle2));
    free(path);
}

static void raw(const char *dir, const char *header, size_t data_len)
{
    unsigned char *data = calloc(1, data_len + 1);
    assert_int_equal(test_write_raw_safetensors(dir, "x.safetensors", header, data, data_len), 0);
    free(data);
}

static void valid_file_maps_every_tensor(void **state)
{
    const char *dir = *state;
    const float a[6] = { 1, 2, 3, 4, 5, 6 };
    const uint16_t b[2] = { 0x3c00, 0xc000 }; /* F16 1.0, -2.0 */
    const int64_t c[1] = { 42 };
    test_st_tensor t[] = {
        { "zeta", "F32", 2, { 2, 3 }, a },
        { "alpha", "F16", 1, { 2 }, b },
        { "mid.count", "I64", 1, { 1 }, c },
        { "empty", "F32", 2, { 0, 5 }, NULL },
    };
    assert_int_equal(test_write_safetensors(dir, "x.safetensors", t, 4), 0);
    char *path = path_in(dir, "x.safetensors");
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_safetensors *st = dgxm_safetensors_open(path, &err);
    assert_non_null(st);
    assert_int_equal(dgxm_safetensors_count(st), 4);
    assert_string_equal(dgxm_safetensors_at(st, 0)->name, "alpha"); /* sorted by name */
    assert_string_equal(dgxm_safetensors_at(st, 3)->name, "zeta");
    assert_null(dgxm_safetensors_at(st, 4));
    const dgxm_tensor *z = dgxm_safetensors_find(st, "zeta");
    assert_non_null(z);
    assert_int_equal(z->dtype, DGXM_DTYPE_F32);
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[1], 3);
    assert_int_equal(z->numel, 6);
    assert_int_equal(z->nbytes, 24);
    assert_memory_equal(z->data, a, sizeof a);
    assert_string_equal(z->file, path);
    float f[2];
    assert_int_equal(dgxm_tensor_to_f32(dgxm_safetensors_find(st, "alpha"), f, &err), DGXM_OK);
    assert_true(f[0] == 1.0f && f[1] == -2.0f);
    const dgxm_tensor *e = dgxm_safetensors_find(st, "empty");
    assert_int_equal(e->numel, 0);
    assert_null(dgxm_safetensors_find(st, "missing"));
    assert_string_equal(dgxm_safetensors_path(st), path);
    dgxm_safetensors_free(st);
    free(path);
}

static void parse_in_memory_matches_open(void **state)
{
    (void)state;
    static const char header[] = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                                 "\"__metadata__\":{\"format\":\"pt\"}}";
    unsigned char buf[8 + sizeof header - 1 + 4];
    size_t hlen = sizeof header - 1;
    memset(buf, 0, 8);
    buf[0] = (unsigned char)hlen;
    memcpy(buf + 8, header, hlen);
    const unsigned char data[4] = { 0x80, 0x3f, 0x00, 0xc0 }; /* bf16 1.0, -2.0 */
    memcpy(buf + 8 + hlen, data, 4);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_safetensors *st = dgxm_safetensors_parse("mem.safetensors", buf, sizeof buf, &err);
    assert_non_null(st);
    float f[2];
    assert_int_equal(dgxm_tensor_to_f32(dgxm_safetensors_find(st, "w"), f, &err), DGXM_OK);
    assert_true(f[0] == 1.0f && f[1] == -2.0f);
    dgxm_safetensors_free(st);
}

static void missing_file_is_an_io_error(void **state)
{
    expect_failure(*state, DGXM_ERR_IO, "cannot open", NULL);
}

static void file_shorter_than_length_field(void **state)
{
    assert_int_equal(test_write_file(*state, "x.safetensors", "\x10\0\0", 3), 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "3 bytes", "8-byte header length");
}

static void empty_file_is_refused(void **state)
{
    assert_int_equal(test_write_file(*state, "x.safetensors", "", 0), 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "0 bytes", NULL);
}

static void header_length_past_end_of_file(void **state)
{
    unsigned char buf[12] = { 0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ' }; /* 1000 */
    assert_int_equal(test_write_file(*state, "x.safetensors", buf, sizeof buf), 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "header length 1000", "past the end");
}

static void truncated_data_area(void **state)
{
    /* a valid header whose tensor needs 16 bytes, but only 10 follow */
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 10);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "outside the data area of 10 bytes");
}

static void header_json_malformed(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",", 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "header JSON", NULL);
}

static void header_not_an_object(void **state)
{
    raw(*state, "[1, 2]", 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "not an object", NULL);
}

static void duplicate_tensor_names_refused(void **state)
{
    raw(*state,
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        8);
    expect_failure(*state, DGXM_ERR_FORMAT, "header JSON", "duplicate");
}

static void unknown_dtype(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "F8_E4M3");
}

static void dtype_missing(void **state)
{
    raw(*state, "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "dtype: missing");
}

static void negative_dimension(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "shape[1]");
}

static void shape_product_overflow(void **state)
{
    raw(*state,
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
        "\"data_offsets\":[0,4]}}",
        4);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "overflow");
}

static void byte_count_overflow(void **state)
{
    /* numel fits in int64 but numel * 8 does not */
    raw(*state,
        "{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", 8);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "data_offsets");
}

static void too_many_dimensions(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
        1);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "9 dimensions");
}

static void offsets_out_of_range(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "data_offsets [4, 12]");
}

static void offsets_reversed(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "data_offsets [8, 4]");
}

static void offsets_negative(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "data_offsets");
}

static void offsets_not_two_integers(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "two integers");
}

static void size_disagrees_with_shape(void **state)
{
    raw(*state, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "needs 12");
}

static void overlapping_tensors(void **state)
{
    raw(*state,
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor b", "overlap tensor a");
}

static void empty_tensors_never_overlap(void **state)
{
    raw(*state,
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
        8);
    char *path = path_in(*state, "x.safetensors");
    dgxm_safetensors *st = dgxm_safetensors_open(path, NULL);
    assert_non_null(st);
    dgxm_safetensors_free(st);
    free(path);
}

static void metadata_must_map_strings(void **state)
{
    raw(*state, "{\"__metadata__\":{\"format\":\"pt\",\"n\":3}}", 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "__metadata__.n", "not a string");
}

static void entry_not_an_object(void **state)
{
    raw(*state, "{\"w\":[1]}", 0);
    expect_failure(*state, DGXM_ERR_FORMAT, "tensor w", "not an object");
}

/* ---- dtype conversions ---------------------------------------------------------------- */

static void f16_converts_exactly(void **state)
{
    (void)state;
    assert_true(dgxm_f16_to_f32(0x0000) == 0.0f && !signbit(dgxm_f16_to_f32(0x0000)));
    assert_true(dgxm_f16_to_f32(0x8000) == 0.0f && signbit(dgxm_f16_to_f32(0x8000)));
    assert_true(dgxm_f16_to_f32(0x3c00) == 1.0f);
    assert_true(dgxm_f16_to_f32(0xc000) == -2.0f);
    assert_true(dgxm_f16_to_f32(0x3555) == 0.333251953125f);
    assert_true(dgxm_f16_to_f32(0x7bff) == 65504.0f);             /* largest normal */
    assert_true(dgxm_f16_to_f32(0x0400) == ldexpf(1.0f, -14));    /* smallest normal */
    assert_true(dgxm_f16_to_f32(0x0001) == ldexpf(1.0f, -24));    /* smallest subnormal */
    assert_true(dgxm_f16_to_f32(0x03ff) == ldexpf(1023.0f, -24)); /* largest subnormal */
    assert_true(dgxm_f16_to_f32(0x8001) == -ldexpf(1.0f, -24));
    assert_true(isinf(dgxm_f16_to_f32(0x7c00)) && dgxm_f16_to_f32(0x7c00) > 0);
    assert_true(isinf(dgxm_f16_to_f32(0xfc00)) && dgxm_f16_to_f32(0xfc00) < 0);
    assert_true(isnan(dgxm_f16_to_f32(0x7e00)));
    assert_true(isnan(dgxm_f16_to_f32(0x7c01))); /* signalling payload stays NaN */
    assert_true(isnan(dgxm_f16_to_f32(0xfe00)));
}

static void f16_matches_formula_for_every_value(void **state)
{
    (void)state;
    /* value = (-1)^s * (exp ? (1024 + man) * 2^(exp - 25) : man * 2^-24), in double */
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        float f = dgxm_f16_to_f32((uint16_t)h);
        if (exp == 0x1f) {
            assert_true(man ? isnan(f) : isinf(f));
            continue;
        }
        double want = exp ? ldexp(1024.0 + man, (int)exp - 25) : ldexp((double)man, -24);
        if (h & 0x8000)
            want = -want;
        assert_true((double)f == want);
        assert_true(!!signbit(f) == !!(h & 0x8000));
    }
}

static void bf16_converts_exactly(void **state)
{
    (void)state;
    assert_true(dgxm_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(dgxm_bf16_to_f32(0xc000) == -2.0f);
    assert_true(dgxm_bf16_to_f32(0x0001) == ldexpf(1.0f, -133)); /* smallest subnormal */
    assert_true(dgxm_bf16_to_f32(0x0080) == ldexpf(1.0f, -126)); /* smallest normal */
    assert_true(isinf(dgxm_bf16_to_f32(0x7f80)));
    assert_true(isinf(dgxm_bf16_to_f32(0xff80)) && dgxm_bf16_to_f32(0xff80) < 0);
    assert_true(isnan(dgxm_bf16_to_f32(0x7fc0)));
    assert_true(dgxm_bf16_to_f32(0x8000) == 0.0f && signbit(dgxm_bf16_to_f32(0x8000)));
}

static void f32_to_bf16_rounds_to_nearest_even(void **state)
{
    (void)state;
    assert_int_equal(dgxm_f32_to_bf16(1.0f), 0x3f80);
    /* 1 + 2^-8 is half way between 0x3f80 and 0x3f81: ties to even (0x3f80) */
    assert_int_equal(dgxm_f32_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3f80);
    /* 1 + 3 * 2^-8 is half way between 0x3f81 and 0x3f82: ties to even (0x3f82) */
    assert_int_equal(dgxm_f32_to_bf16(1.0f + 3.0f * ldexpf(1.0f, -8)), 0x3f82);
    assert_int_equal(dgxm_f32_to_bf16(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -20)), 0x3f81);
    assert_int_equal(dgxm_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(dgxm_f32_to_bf16(3.4028235e38f), 0x7f80); /* rounds up to inf */
    assert_true(isnan(dgxm_bf16_to_f32(dgxm_f32_to_bf16(NAN))));
    for (uint32_t b = 0; b < 0x10000; b++) { /* every bf16 survives a round trip */
        float f = dgxm_bf16_to_f32((uint16_t)b);
        if (!isnan(f))
            assert_int_equal(dgxm_f32_to_bf16(f), b);
    }
}

static void integer_tensor_does_not_convert(void **state)
{
    (void)state;
    int64_t v = 3;
    dgxm_tensor t = { .name = "count",
                      .file = "f.safetensors",
                      .dtype = DGXM_DTYPE_I64,
                      .ndim = 1,
                      .shape = { 1 },
                      .numel = 1,
                      .data = &v,
                      .nbytes = 8 };
    float out;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_tensor_to_f32(&t, &out, &err), DGXM_ERR_FORMAT);
    assert_non_null(strstr(err.message, "f.safetensors: tensor count: dtype I64"));
}

static void shape_check_names_both_shapes(void **state)
{
    (void)state;
    dgxm_tensor t = { .name = "w",
                      .file = "f.safetensors",
                      .dtype = DGXM_DTYPE_F32,
                      .ndim = 2,
                      .shape = { 3, 4 },
                      .numel = 12 };
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_tensor_check_shape(&t, 2, (const int64_t[]){ 3, 4 }, &err), DGXM_OK);
    assert_int_equal(dgxm_tensor_check_shape(&t, 2, (const int64_t[]){ 4, 3 }, &err),
                     DGXM_ERR_FORMAT);
    assert_string_equal(err.message, "f.safetensors: tensor w: shape [3, 4], expected [4, 3]");
}

static void dtype_table_round_trips(void **state)
{
    (void)state;
    for (int d = 0; d < DGXM_DTYPE_COUNT; d++)
        assert_int_equal(dgxm_dtype_parse(dgxm_dtype_name((dgxm_dtype)d)), d);
    assert_int_equal(dgxm_dtype_parse("f32"), -1);
    assert_int_equal(dgxm_dtype_size(DGXM_DTYPE_BF16), 2);
    assert_int_equal(dgxm_dtype_size(DGXM_DTYPE_I64), 8);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(valid_file_maps_every_tensor),
        cmocka_unit_test(parse_in_memory_matches_open),
        DIR_TEST(missing_file_is_an_io_error),
        DIR_TEST(file_shorter_than_length_field),
        DIR_TEST(empty_file_is_refused),
        DIR_TEST(header_length_past_end_of_file),
        DIR_TEST(truncated_data_area),
        DIR_TEST(header_json_malformed),
        DIR_TEST(header_not_an_object),
        DIR_TEST(duplicate_tensor_names_refused),
        DIR_TEST(unknown_dtype),
        DIR_TEST(dtype_missing),
        DIR_TEST(negative_dimension),
        DIR_TEST(shape_product_overflow),
        DIR_TEST(byte_count_overflow),
        DIR_TEST(too_many_dimensions),
        DIR_TEST(offsets_out_of_range),
        DIR_TEST(offsets_reversed),
        DIR_TEST(offsets_negative),
        DIR_TEST(offsets_not_two_integers),
        DIR_TEST(size_disagrees_with_shape),
        DIR_TEST(overlapping_tensors),
        DIR_TEST(empty_tensors_never_overlap),
        DIR_TEST(metadata_must_map_strings),
        DIR_TEST(entry_not_an_object),
        cmocka_unit_test(f16_converts_exactly),
        cmocka_unit_test(f16_matches_formula_for_every_value),
        cmocka_unit_test(bf16_converts_exactly),
        cmocka_unit_test(f32_to_bf16_rounds_to_nearest_even),
        cmocka_unit_test(integer_tensor_does_not_convert),
        cmocka_unit_test(shape_check_names_both_shapes),
        cmocka_unit_test(dtype_table_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
