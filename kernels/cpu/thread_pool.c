/* Persistent worker pool. Workers sleep on a condition variable between jobs; a job is split
 * into chunks claimed through an atomic counter, so uneven chunks balance themselves. */
#include "thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct dgxm_thread_pool {
    int threads; /* including the owner */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    unsigned long generation; /* bumped per job; guarded by lock */
    bool stopping;
    int busy; /* workers still inside the current job; guarded by lock */

    /* The current job; written by the owner before bumping generation. */
    dgxm_range_fn fn;
    void *ctx;
    size_t n;
    size_t chunk;
    atomic_size_t next;
};

static void run_chunks(dgxm_thread_pool *p)
{
    for (;;) {
        size_t begin = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
        if (begin >= p->n)
            return;
        size_t end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        p->fn(p->ctx, begin, end);
    }
}

static void *worker_main(void *arg)
{
    dgxm_thread_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_chunks(p);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

dgxm_thread_pool *dgxm_thread_pool_new(int threads)
{
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    dgxm_thread_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        if (!p->workers) {
            dgxm_thread_pool_free(p);
            return NULL;
        }
        for (int i = 0; i < threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                p->threads = i + 1; /* free joins only the started ones */
                dgxm_thread_pool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

void dgxm_thread_pool_free(dgxm_thread_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; p->workers && i < p->threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int dgxm_thread_pool_size(const dgxm_thread_pool *p)
{
    return p->threads;
}

void dgxm_parallel_for(dgxm_thread_pool *p, size_t n, size_t min_chunk, dgxm_range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    if (min_chunk == 0)
        min_chunk = 1;
    /* A few chunks per thread balance uneven work without much claiming traffic. */
    size_t chunk = (n + (size_t)p->threads * 4 - 1) / ((size_t)p->threads * 4);
    if (chunk < min_chunk)
        chunk = min_chunk;
    if (p->threads == 1 || chunk >= n) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->busy = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_chunks(p);

    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
