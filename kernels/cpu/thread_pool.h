/* A persistent pool of worker threads for the CPU backend: one parallel_for at a time.
 *
 * Ownership: dgxm_thread_pool_new returns a pool freed with dgxm_thread_pool_free.
 * Threads: one owner thread (the engine thread) calls parallel_for; the workers are the pool's.
 * The owner thread takes part in the work, so a pool of 1 thread runs everything inline.
 */
#ifndef DGXM_THREAD_POOL_H
#define DGXM_THREAD_POOL_H

#include <stddef.h>

typedef struct dgxm_thread_pool dgxm_thread_pool;

/* fn(ctx, begin, end) processes items [begin, end). */
typedef void (*dgxm_range_fn)(void *ctx, size_t begin, size_t end);

/* threads: total threads including the caller; 0 means one per online core. NULL when a thread
 * or an allocation cannot be created. */
dgxm_thread_pool *dgxm_thread_pool_new(int threads);
void dgxm_thread_pool_free(dgxm_thread_pool *pool);
int dgxm_thread_pool_size(const dgxm_thread_pool *pool);

/* Runs fn over [0, n) in chunks of at least min_chunk items and returns when all are done. */
void dgxm_parallel_for(dgxm_thread_pool *pool, size_t n, size_t min_chunk, dgxm_range_fn fn,
                       void *ctx);

#endif
