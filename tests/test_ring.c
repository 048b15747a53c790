/* The SPSC frame ring: power-of-two capacity, partial writes and reads, wrap-around, skip, the
 * storage view that keeps a whole clip, and a producer and a consumer on two threads passing a
 * numbered sequence through a small ring (run under ThreadSanitizer by ./waf test_tsan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static void capacity_is_the_next_power_of_two(void **state)
{
    (void)state;
    const size_t asked[] = { 1, 2, 3, 1000, 1024, 1025 }, got[] = { 1, 2, 4, 1024, 1024, 2048 };
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        dgxm_ring *r = dgxm_ring_new(asked[i], 2, NULL);
        assert_non_null(r);
        assert_int_equal(dgxm_ring_capacity(r), got[i]);
        assert_int_equal(dgxm_ring_channels(r), 2);
        assert_int_equal(dgxm_ring_read_space(r), 0);
        assert_int_equal(dgxm_ring_write_space(r), got[i]);
        dgxm_ring_free(r);
    }
}

static void bad_sizes_are_refused(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_null(dgxm_ring_new(0, 2, &err));
    assert_int_equal(err.status, DGXM_ERR_INVALID_ARG);
    assert_null(dgxm_ring_new(16, 0, NULL));
    dgxm_ring_free(NULL);
}

static void writes_and_reads_wrap_and_stop_at_the_edges(void **state)
{
    (void)state;
    dgxm_ring *r = dgxm_ring_new(8, 2, NULL);
    float in[40], out[40];
    for (int i = 0; i < 40; i++)
        in[i] = (float)i;
    assert_int_equal(dgxm_ring_write(r, in, 5), 5);
    assert_int_equal(dgxm_ring_read(r, out, 3), 3);
    assert_memory_equal(out, in, 6 * sizeof *in);
    /* 2 unread, 6 free: a write of 10 frames takes 6 and wraps */
    assert_int_equal(dgxm_ring_write(r, in + 10, 10), 6);
    assert_int_equal(dgxm_ring_write_space(r), 0);
    assert_int_equal(dgxm_ring_write(r, in, 1), 0);
    assert_int_equal(dgxm_ring_read(r, out, 20), 8);
    assert_memory_equal(out, in + 6, 4 * sizeof *in);       /* frames 3, 4 */
    assert_memory_equal(out + 4, in + 10, 12 * sizeof *in); /* then the six new ones */
    assert_int_equal(dgxm_ring_read(r, out, 1), 0);
    assert_int_equal(dgxm_ring_total_written(r), 11);
    assert_int_equal(dgxm_ring_total_read(r), 11);
    dgxm_ring_free(r);
}

static void skip_drops_unread_frames(void **state)
{
    (void)state;
    dgxm_ring *r = dgxm_ring_new(4, 1, NULL);
    const float in[4] = { 1, 2, 3, 4 };
    float out[4] = { 0 };
    dgxm_ring_write(r, in, 4);
    assert_int_equal(dgxm_ring_skip(r, 3), 3);
    assert_int_equal(dgxm_ring_skip(r, 3), 1);
    assert_int_equal(dgxm_ring_read(r, out, 4), 0);
    dgxm_ring_free(r);
}

static void storage_keeps_a_whole_clip_after_reads(void **state)
{
    (void)state;
    dgxm_ring *r = dgxm_ring_new(100, 2, NULL);
    float clip[200], out[200];
    for (int i = 0; i < 200; i++)
        clip[i] = (float)i * 0.5f;
    assert_int_equal(dgxm_ring_write(r, clip, 60), 60);
    assert_int_equal(dgxm_ring_read(r, out, 60), 60);
    assert_int_equal(dgxm_ring_write(r, clip + 120, 40), 40);
    assert_int_equal(dgxm_ring_read(r, out, 40), 40);
    assert_memory_equal(dgxm_ring_storage(r), clip, sizeof clip);
    dgxm_ring_free(r);
}

enum {
    SEQUENCE = 200000,
    CHANNELS = 3
};

static void *produce(void *arg)
{
    dgxm_ring *r = arg;
    float block[37 * CHANNELS];
    unsigned next = 0;
    while (next < SEQUENCE) {
        size_t n = 1 + next % 37;
        if (n > SEQUENCE - next)
            n = SEQUENCE - next;
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < CHANNELS; c++)
                block[i * CHANNELS + c] = (float)(next + i) + 0.25f * c;
        size_t done = 0;
        while (done < n) {
            size_t w = dgxm_ring_write(r, block + done * CHANNELS, n - done);
            done += w;
            if (!w)
                sched_yield();
        }
        next += (unsigned)n;
    }
    return NULL;
}

static void two_threads_pass_a_sequence_intact(void **state)
{
    (void)state;
    dgxm_ring *r = dgxm_ring_new(64, CHANNELS, NULL);
    pthread_t producer;
    assert_int_equal(pthread_create(&producer, NULL, produce, r), 0);
    float block[53 * CHANNELS];
    unsigned expect = 0;
    int bad = 0;
    while (expect < SEQUENCE) {
        size_t n = dgxm_ring_read(r, block, 1 + expect % 53);
        if (!n)
            sched_yield();
        for (size_t i = 0; i < n; i++, expect++)
            for (int c = 0; c < CHANNELS; c++)
                bad += block[i * CHANNELS + c] != (float)expect + 0.25f * c;
    }
    pthread_join(producer, NULL);
    assert_int_equal(bad, 0);
    assert_int_equal(dgxm_ring_total_read(r), SEQUENCE);
    dgxm_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capacity_is_the_next_power_of_two),
        cmocka_unit_test(bad_sizes_are_refused),
        cmocka_unit_test(writes_and_reads_wrap_and_stop_at_the_edges),
        cmocka_unit_test(skip_drops_unread_frames),
        cmocka_unit_test(storage_keeps_a_whole_clip_after_reads),
        cmocka_unit_test(two_threads_pass_a_sequence_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
