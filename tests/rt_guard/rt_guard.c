/* The real-time guard: see rt_guard.h. Built as a shared object and preloaded, so its
 * definitions win over the C library's for every call made through the dynamic linker (the
 * engine library is linked into the test program and calls libc through its PLT like any
 * plugin would). Each wrapper records a violation when the calling thread is inside a region,
 * then forwards to the real function: the allocator through glibc's __libc_* entry points (dlsym
 * itself may allocate), everything else through dlsym(RTLD_NEXT) resolved at load time. */
#include "rt_guard.h"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* glibc's own allocator entry points. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *__libc_memalign(size_t alignment, size_t n);

/* Initial-exec TLS: reading the flag never calls __tls_get_addr (which may allocate). */
static __thread int in_region __attribute__((tls_model("initial-exec")));
static atomic_ulong violations;
static _Atomic(const char *) first_name;

void dgxm_rt_guard_enter(void)
{
    in_region = 1;
}

void dgxm_rt_guard_leave(void)
{
    in_region = 0;
}

unsigned long dgxm_rt_guard_violations(void)
{
    return atomic_load(&violations);
}

const char *dgxm_rt_guard_first(void)
{
    const char *name = atomic_load(&first_name);
    return name ? name : "";
}

void dgxm_rt_guard_reset(void)
{
    atomic_store(&violations, 0);
    atomic_store(&first_name, NULL);
}

static void check(const char *name)
{
    if (!in_region)
        return;
    atomic_fetch_add(&violations, 1);
    const char *none = NULL;
    atomic_compare_exchange_strong(&first_name, &none, name);
}

static struct {
    int (*mutex_lock)(pthread_mutex_t *);
    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*rwlock_rdlock)(pthread_rwlock_t *);
    int (*rwlock_wrlock)(pthread_rwlock_t *);
    int (*sem_wait)(sem_t *);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
    int (*usleep)(useconds_t);
    unsigned (*sleep)(unsigned);
    int (*sched_yield)(void);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    FILE *(*fopen)(const char *, const char *);
    int (*fclose)(FILE *);
    int (*vfprintf)(FILE *, const char *, va_list);
    size_t (*fwrite)(const void *, size_t, size_t, FILE *);
    int (*fputs)(const char *, FILE *);
    int (*puts)(const char *);
    int (*fputc)(int, FILE *);
    int (*putchar)(int);
    int (*fflush)(FILE *);
} real;

/* Resolved before main, outside any region. */
__attribute__((constructor)) static void resolve(void)
{
#define RESOLVE(field, symbol) *(void **)(&real.field) = dlsym(RTLD_NEXT, symbol)
    RESOLVE(mutex_lock, "pthread_mutex_lock");
    RESOLVE(cond_wait, "pthread_cond_wait");
    RESOLVE(cond_timedwait, "pthread_cond_timedwait");
    RESOLVE(rwlock_rdlock, "pthread_rwlock_rdlock");
    RESOLVE(rwlock_wrlock, "pthread_rwlock_wrlock");
    RESOLVE(sem_wait, "sem_wait");
    RESOLVE(nanosleep, "nanosleep");
    RESOLVE(clock_nanosleep, "clock_nanosleep");
    RESOLVE(usleep, "usleep");
    RESOLVE(sleep, "sleep");
    RESOLVE(sched_yield, "sched_yield");
    RESOLVE(read, "read");
    RESOLVE(write, "write");
    RESOLVE(mmap, "mmap");
    RESOLVE(munmap, "munmap");
    RESOLVE(fopen, "fopen");
    RESOLVE(fclose, "fclose");
    RESOLVE(vfprintf, "vfprintf");
    RESOLVE(fwrite, "fwrite");
    RESOLVE(fputs, "fputs");
    RESOLVE(puts, "puts");
    RESOLVE(fputc, "fputc");
    RESOLVE(putchar, "putchar");
    RESOLVE(fflush, "fflush");
#undef RESOLVE
}

/* ---- allocation ---- */

void *malloc(size_t n)
{
    check("malloc");
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    check("calloc");
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    check("realloc");
    return __libc_realloc(p, n);
}

void free(void *p)
{
    check("free");
    __libc_free(p);
}

void *aligned_alloc(size_t alignment, size_t n)
{
    check("aligned_alloc");
    return __libc_memalign(alignment, n);
}

int posix_memalign(void **out, size_t alignment, size_t n)
{
    check("posix_memalign");
    void *p = __libc_memalign(alignment, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* ---- locks and waits ---- */

int pthread_mutex_lock(pthread_mutex_t *m)
{
    check("pthread_mutex_lock");
    return real.mutex_lock(m);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    check("pthread_cond_wait");
    return real.cond_wait(c, m);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    check("pthread_cond_timedwait");
    return real.cond_timedwait(c, m, t);
}

int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    check("pthread_rwlock_rdlock");
    return real.rwlock_rdlock(l);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    check("pthread_rwlock_wrlock");
    return real.rwlock_wrlock(l);
}

int sem_wait(sem_t *s)
{
    check("sem_wait");
    return real.sem_wait(s);
}

int nanosleep(const struct timespec *t, struct timespec *rem)
{
    check("nanosleep");
    return real.nanosleep(t, rem);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *t, struct timespec *rem)
{
    check("clock_nanosleep");
    return real.clock_nanosleep(clock, flags, t, rem);
}

int usleep(useconds_t us)
{
    check("usleep");
    return real.usleep(us);
}

unsigned sleep(unsigned s)
{
    check("sleep");
    return real.sleep(s);
}

int sched_yield(void)
{
    check("sched_yield");
    return real.sched_yield();
}

/* ---- system calls that may block ---- */

ssize_t read(int fd, void *buf, size_t n)
{
    check("read");
    return real.read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    check("write");
    return real.write(fd, buf, n);
}

void *mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off)
{
    check("mmap");
    return real.mmap(addr, n, prot, flags, fd, off);
}

int munmap(void *addr, size_t n)
{
    check("munmap");
    return real.munmap(addr, n);
}

/* ---- stdio ---- */

FILE *fopen(const char *path, const char *mode)
{
    check("fopen");
    return real.fopen(path, mode);
}

int fclose(FILE *f)
{
    check("fclose");
    return real.fclose(f);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    check("vfprintf");
    return real.vfprintf(f, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    check("fprintf");
    va_list ap;
    va_start(ap, fmt);
    int n = real.vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    check("printf");
    va_list ap;
    va_start(ap, fmt);
    int n = real.vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    check("fwrite");
    return real.fwrite(p, size, n, f);
}

int fputs(const char *s, FILE *f)
{
    check("fputs");
    return real.fputs(s, f);
}

int puts(const char *s)
{
    check("puts");
    return real.puts(s);
}

int fputc(int c, FILE *f)
{
    check("fputc");
    return real.fputc(c, f);
}

int putchar(int c)
{
    check("putchar");
    return real.putchar(c);
}

int fflush(FILE *f)
{
    check("fflush");
    return real.fflush(f);
}
