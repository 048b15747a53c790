/* The real-time guard: an LD_PRELOAD library that interposes the calls an audio thread must not
 * make (allocation, locks, sleeps and blocking waits, file and terminal I/O, stdio) and counts
 * the ones made by a thread while it is inside a guarded region. Outside a region, and on every
 * other thread, each call goes straight to the C library.
 *
 * A test marks a region with enter/leave around the audio thread's calls. It does not link the
 * guard: it finds these functions with dlsym(RTLD_DEFAULT, ...) once the guard is preloaded
 * (tests/test_engine_rt.c re-executes itself with LD_PRELOAD set).
 *
 * Thread-safe; enter and leave act on the calling thread only. No call here allocates.
 */
#ifndef DGXM_RT_GUARD_H
#define DGXM_RT_GUARD_H

/* Marks the calling thread as inside / outside a guarded region (regions do not nest). */
void dgxm_rt_guard_enter(void);
void dgxm_rt_guard_leave(void);

/* Calls flagged so far in every thread, and the name of the first one ("" when none). */
unsigned long dgxm_rt_guard_violations(void);
const char *dgxm_rt_guard_first(void);

/* Zeroes the count and forgets the first name. */
void dgxm_rt_guard_reset(void);

typedef void (*dgxm_rt_guard_fn)(void);
typedef unsigned long (*dgxm_rt_guard_count_fn)(void);
typedef const char *(*dgxm_rt_guard_name_fn)(void);

#endif
