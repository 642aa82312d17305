/* The OpenMP bits the kernels share: OpenMP directives go through these,
 * so serial builds neither warn about unknown pragmas nor need #ifdefs.
 *
 * FD_OMP(directive) is `#pragma omp directive` in OpenMP builds and
 * nothing in serial ones.
 *
 * FD_PARALLEL_FOR, placed right before a `for` loop, splits it statically
 * over `nt` threads (an int in scope) in OpenMP builds, and is a no-op
 * (that uses `nt`) in serial ones, so a serial -Wall build does not warn
 * about an unknown pragma.  MSVC spells _Pragma __pragma. */
#ifndef FD_OMP_H
#define FD_OMP_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(_OPENMP) && defined(_MSC_VER)
#include <intrin.h>
#endif

#if defined(_OPENMP) && defined(_MSC_VER)
#define FD_OMP(...) __pragma(omp __VA_ARGS__)
#elif defined(_OPENMP)
#define FD_OMP_STR_(...) #__VA_ARGS__
#define FD_OMP(...) _Pragma(FD_OMP_STR_(omp __VA_ARGS__))
#else
#define FD_OMP(...)
#endif

#if defined(_OPENMP) && defined(_MSC_VER)
#define FD_PARALLEL_FOR __pragma(omp parallel for num_threads(nt) schedule(static))
#elif defined(_OPENMP)
#define FD_PARALLEL_FOR _Pragma("omp parallel for num_threads(nt) schedule(static)")
#else
#define FD_PARALLEL_FOR (void)nt;
#endif

/* FD_PARALLEL, before a block, runs it on a team of `nt` threads (one
 * thread: in the caller, no team), and FD_FOR, before a `for` loop inside
 * it, splits the loop statically over the team, without a barrier of its
 * own (the region's end is one: a second barrier costs a thread's wake-up
 * when a team mate is descheduled): FD_PARALLEL_FOR for loops whose threads
 * each need set-up and tear-down around their iterations
 * (common/fd_fpenv.h).  Serial builds run the block once, the loop whole. */
#if defined(_OPENMP) && defined(_MSC_VER)
#define FD_PARALLEL __pragma(omp parallel num_threads(nt) if (nt > 1))
#define FD_FOR __pragma(omp for schedule(static) nowait)
#elif defined(_OPENMP)
#define FD_PARALLEL _Pragma("omp parallel num_threads(nt) if (nt > 1)")
#define FD_FOR _Pragma("omp for schedule(static) nowait")
#else
#define FD_PARALLEL (void)nt;
#define FD_FOR
#endif

/* Paired work sharing: for a loop whose static split leaves a thread
 * waiting at the region's end while its team mate finishes, because the
 * mate's core was slower (a busy neighbour on a shared machine: on 2 vCPUs
 * one thread took 10-60% longer than the other on the same work, at
 * random).  The items [0, count) go in equal ranges, one per thread, as
 * FD_FOR splits them; threads 2i and 2i+1 share their two ranges, the even
 * one taking items from the front, the odd one from the back, until they
 * meet.  So each thread still does mostly its own range (the data it has
 * in cache, as under FD_FOR) and takes over its mate's last items when the
 * mate is behind.  A claim is a quarter of what the thread last saw left
 * (at least `least` items): a few atomic additions per thread, and claims
 * of contiguous items.  Which thread does an item changes from run to run,
 * so an item's result must not depend on it.  The pairs past
 * FD_PAIR_MAX, and an odd team's last thread, take their ranges whole.
 *
 *     fd_pair_share share[FD_PAIR_MAX];          (shared, before the region)
 *     fd_pair_reset(share, nt);
 *     FD_PARALLEL
 *     {
 *         fd_pair_iter it = fd_pair_start(share, count, least);
 *         int64_t q0, q1;
 *         while (fd_pair_next(&it, &q0, &q1))
 *             ... items q0 .. q1 - 1 ...
 *     }
 */
#define FD_PAIR_MAX 32
typedef struct {
    int64_t taken; /* the pair's items claimed so far */
    char pad[120]; /* (pairs' counters on different cache lines) */
} fd_pair_share;

typedef struct {
    int64_t *taken, lo, hi, mine, seen, least;
    int back, whole;
} fd_pair_iter;

static inline void fd_pair_reset(fd_pair_share *share, int nt)
{
    const int np = nt / 2 + 1 < FD_PAIR_MAX ? nt / 2 + 1 : FD_PAIR_MAX;
    int i;
    for (i = 0; i < np; i++) share[i].taken = 0;
}

/* *taken += want; returns its value before */
static inline int64_t fd_pair_take(int64_t *taken, int64_t want)
{
    int64_t got;
#if defined(_OPENMP) && defined(_MSC_VER)
    got = _InterlockedExchangeAdd64((volatile __int64 *)taken, want);
#elif defined(_OPENMP)
    FD_OMP(atomic capture)
    {
        got = *taken;
        *taken += want;
    }
#else
    got = *taken;
    *taken += want;
#endif
    return got;
}

/* Thread tid's view of `count` items in a team of `team` threads. */
static inline fd_pair_iter fd_pair_start_as(fd_pair_share *share, int64_t count, int64_t least,
                                            int tid, int team)
{
    fd_pair_iter it;
    const int pair = tid / 2;
    it.whole = pair >= FD_PAIR_MAX || ((team & 1) && tid == team - 1);
    it.lo = count * (it.whole ? tid : 2 * pair) / team;
    it.hi = count * (it.whole ? tid + 1 : 2 * pair + 2) / team;
    it.taken = it.whole ? NULL : &share[pair].taken;
    it.back = tid & 1;
    it.mine = it.seen = 0;
    it.least = least < 1 ? 1 : least;
    return it;
}

/* In the region: this thread's view of `count` items (see above). */
static inline fd_pair_iter fd_pair_start(fd_pair_share *share, int64_t count, int64_t least)
{
#ifdef _OPENMP
    return fd_pair_start_as(share, count, least, omp_get_thread_num(), omp_get_num_threads());
#else
    return fd_pair_start_as(share, count, least, 0, 1);
#endif
}

/* The next claim, items [*q0, *q1); 0 when there are none left. */
static inline int fd_pair_next(fd_pair_iter *it, int64_t *q0, int64_t *q1)
{
    const int64_t len = it->hi - it->lo;
    int64_t want, got, cnt;
    if (it->whole) {
        *q0 = it->lo;
        *q1 = it->hi;
        it->lo = it->hi; /* (taken) */
        return *q1 > *q0;
    }
    want = (len - it->seen) / 4 > it->least ? (len - it->seen) / 4 : it->least;
    got = fd_pair_take(it->taken, want);
    if (got >= len) return 0;
    cnt = len - got < want ? len - got : want;
    it->seen = got + cnt;
    if (it->back) {
        *q1 = it->hi - it->mine;
        *q0 = *q1 - cnt;
    } else {
        *q0 = it->lo + it->mine;
        *q1 = *q0 + cnt;
    }
    it->mine += cnt;
    return 1;
}

#endif /* FD_OMP_H */
