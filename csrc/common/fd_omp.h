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

#endif /* FD_OMP_H */
