/* The SPSC frame ring of dgxm/ring.h. Positions are free-running frame counts (64 bits never
 * wrap in practice); the slot of position p is p & mask. Each side owns its counter and keeps
 * it on its own cache line, so the two threads do not bounce one line between cores. */
#include "dgxm/ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum {
    CACHE_LINE = 64
};

/* The padding is the point: each counter sits alone on its cache line. */
struct dgxm_ring { // NOLINT(clang-analyzer-optin.performance.Padding)
    float *data;   /* [capacity][channels] */
    size_t capacity, mask;
    int channels;
    alignas(CACHE_LINE) _Atomic uint64_t written; /* producer's counter */
    alignas(CACHE_LINE) _Atomic uint64_t read;    /* consumer's counter */
};

dgxm_ring *dgxm_ring_new(size_t min_frames, int channels, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (channels < 1 || channels > 64 || min_frames == 0 || min_frames > ((size_t)1 << 40)) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "ring: %zu frames of %d channels", min_frames,
                       channels);
        return NULL;
    }
    size_t capacity = 1;
    while (capacity < min_frames)
        capacity <<= 1;
    dgxm_ring *r = aligned_alloc(CACHE_LINE, sizeof *r);
    float *data = calloc(capacity * (size_t)channels, sizeof *data);
    if (!r || !data) {
        free(r);
        free(data);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "ring: %zu frames of %d channels", capacity, channels);
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->data = data;
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->channels = channels;
    atomic_init(&r->written, 0);
    atomic_init(&r->read, 0);
    return r;
}

void dgxm_ring_free(dgxm_ring *r)
{
    if (!r)
        return;
    free(r->data);
    free(r);
}

size_t dgxm_ring_capacity(const dgxm_ring *r)
{
    return r->capacity;
}

int dgxm_ring_channels(const dgxm_ring *r)
{
    return r->channels;
}

uint64_t dgxm_ring_total_written(const dgxm_ring *r)
{
    return atomic_load_explicit(&r->written, memory_order_acquire);
}

uint64_t dgxm_ring_total_read(const dgxm_ring *r)
{
    return atomic_load_explicit(&r->read, memory_order_acquire);
}

size_t dgxm_ring_read_space(const dgxm_ring *r)
{
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_acquire);
    uint64_t wr = atomic_load_explicit(&r->written, memory_order_acquire);
    return (size_t)(wr - rd);
}

size_t dgxm_ring_write_space(const dgxm_ring *r)
{
    return r->capacity - dgxm_ring_read_space(r);
}

/* Copies n frames between the ring's slots starting at position pos and a linear buffer, in at
 * most two pieces (before and after the wrap). */
static void copy_in(dgxm_ring *r, uint64_t pos, const float *src, size_t n)
{
    const size_t ch = (size_t)r->channels, start = (size_t)pos & r->mask;
    size_t first = r->capacity - start < n ? r->capacity - start : n;
    memcpy(r->data + start * ch, src, first * ch * sizeof *src);
    memcpy(r->data, src + first * ch, (n - first) * ch * sizeof *src);
}

static void copy_out(const dgxm_ring *r, uint64_t pos, float *dst, size_t n)
{
    const size_t ch = (size_t)r->channels, start = (size_t)pos & r->mask;
    size_t first = r->capacity - start < n ? r->capacity - start : n;
    memcpy(dst, r->data + start * ch, first * ch * sizeof *dst);
    memcpy(dst + first * ch, r->data, (n - first) * ch * sizeof *dst);
}

size_t dgxm_ring_write(dgxm_ring *r, const float *frames, size_t count)
{
    /* Our own counter needs no ordering; the consumer's needs acquire so that its reads of the
     * slots we are about to overwrite have completed. */
    uint64_t wr = atomic_load_explicit(&r->written, memory_order_relaxed);
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_acquire);
    size_t space = r->capacity - (size_t)(wr - rd);
    size_t n = count < space ? count : space;
    if (n == 0)
        return 0;
    copy_in(r, wr, frames, n);
    atomic_store_explicit(&r->written, wr + n, memory_order_release);
    return n;
}

size_t dgxm_ring_read(dgxm_ring *r, float *frames, size_t count)
{
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);
    uint64_t wr = atomic_load_explicit(&r->written, memory_order_acquire);
    size_t avail = (size_t)(wr - rd);
    size_t n = count < avail ? count : avail;
    if (n == 0)
        return 0;
    copy_out(r, rd, frames, n);
    atomic_store_explicit(&r->read, rd + n, memory_order_release);
    return n;
}

size_t dgxm_ring_skip(dgxm_ring *r, size_t count)
{
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);
    uint64_t wr = atomic_load_explicit(&r->written, memory_order_acquire);
    size_t avail = (size_t)(wr - rd);
    size_t n = count < avail ? count : avail;
    atomic_store_explicit(&r->read, rd + n, memory_order_release);
    return n;
}

const float *dgxm_ring_storage(const dgxm_ring *r)
{
    return r->data;
}
