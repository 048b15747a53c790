/* A single-producer single-consumer ring of interleaved float frames: the path from the engine
 * thread to the audio thread.
 *
 * Capacity is a power of two frames, allocated once by dgxm_ring_new; nothing is allocated,
 * locked or waited on afterwards. The producer and the consumer each own one position counter
 * (frames ever written / read, never wrapped); each side reads the other's counter with an
 * acquire load and publishes its own with a release store after copying the frames, so a frame
 * is never read before it is completely written nor overwritten before it is read.
 *
 * Threads: exactly one producer thread (the engine thread for a job's ring) calls
 * dgxm_ring_write; exactly one consumer thread at a time (normally the audio thread) calls
 * dgxm_ring_read / dgxm_ring_skip. The space queries may be called by either side and are
 * real-time safe, as are read, skip and write. new and free belong to a control thread.
 */
#ifndef DGXM_RING_H
#define DGXM_RING_H

#include "dgxm/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dgxm_ring dgxm_ring;

/* A ring of at least min_frames frames of `channels` floats (rounded up to a power of two),
 * zeroed. Untouched storage costs address space only: large rings come from mmap and pages
 * become resident as they are written. Control thread. Freed with dgxm_ring_free. */
dgxm_ring *dgxm_ring_new(size_t min_frames, int channels, dgxm_error *err);

/* Control thread, once neither side uses the ring any more. NULL is ignored. */
void dgxm_ring_free(dgxm_ring *r);

/* Frames the ring holds (a power of two) and floats per frame. Any thread. */
size_t dgxm_ring_capacity(const dgxm_ring *r);
int dgxm_ring_channels(const dgxm_ring *r);

/* Frames written and not yet read. Either side; real-time safe. */
size_t dgxm_ring_read_space(const dgxm_ring *r);

/* Frames that can be written without overwriting unread frames. Either side; real-time safe. */
size_t dgxm_ring_write_space(const dgxm_ring *r);

/* Frames ever written / ever read (consumed or skipped). Either side; real-time safe. */
uint64_t dgxm_ring_total_written(const dgxm_ring *r);
uint64_t dgxm_ring_total_read(const dgxm_ring *r);

/* Copies up to `count` frames (interleaved) into the ring; returns how many fit. Never blocks.
 * Producer thread. */
size_t dgxm_ring_write(dgxm_ring *r, const float *frames, size_t count);

/* Copies up to `count` frames out of the ring into `frames` (interleaved); returns how many were
 * there. Never blocks. Consumer thread. */
size_t dgxm_ring_read(dgxm_ring *r, float *frames, size_t count);

/* Drops up to `count` unread frames; returns how many. Consumer thread. */
size_t dgxm_ring_skip(dgxm_ring *r, size_t count);

/* The storage itself, [capacity][channels]: frame number i (counting every frame ever written)
 * lives at row i & (capacity - 1). While no more frames were written than the capacity, the
 * frames written so far are rows 0 .. total_written - 1, untouched by reads: that is how a
 * finished job's whole clip stays readable (dgxm_job_take). Owned by the ring. Any thread may
 * read rows the producer has published (see dgxm_ring_total_written). */
const float *dgxm_ring_storage(const dgxm_ring *r);

#ifdef __cplusplus
}
#endif

#endif
