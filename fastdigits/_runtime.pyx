"""CPU features, caches and OpenMP facts, read from the C layer."""

from libc.string cimport memset

import numpy as np

from fastdigits._common cimport fd_ctx

cdef extern from "common/cpu.h" nogil:
    int fd_cpu_best_isa()
    void fd_cpu_brand(char *buf, size_t len)
    int fd_openmp_enabled()
    int fd_omp_max_threads()
    int fd_omp_in_parallel()
    const char *fd_compiler_version()
    int fd_probe_threads(int n)
    int fd_cpu_amx_state()

ISA_NAMES = ("generic", "avx2", "avx512", "avx512_bf16", "amx")


def best_isa() -> int:
    """Highest SIMD path (0 generic, 1 avx2, 2 avx512, 3 avx512_bf16, 4 amx) this
    CPU, OS and build support (amx: the tile-data permission was granted)."""
    return fd_cpu_best_isa()


def cpu_brand() -> str:
    cdef char buf[64]
    fd_cpu_brand(buf, sizeof(buf))
    return buf.decode("ascii", "replace").strip()


def openmp_enabled() -> bool:
    return bool(fd_openmp_enabled())


def omp_max_threads() -> int:
    """omp_get_max_threads(): honours OMP_NUM_THREADS and threadpoolctl limits."""
    return fd_omp_max_threads()


def omp_in_parallel() -> bool:
    return bool(fd_omp_in_parallel())


def probe_threads(int n) -> int:
    """How many threads (the caller included, at most n) can run at once."""
    cdef int r
    with nogil:
        r = fd_probe_threads(n)
    return r


def compiler_version() -> str:
    """The C compiler that built the kernels."""
    return fd_compiler_version().decode("ascii", "replace")


def amx_state() -> str:
    """AMX on this machine: "absent", "refused" (in the CPU, but the OS did
    not grant the tile data) or "usable"."""
    return ("absent", "refused", "usable")[fd_cpu_amx_state()]


cdef extern from "common/cpu.h" nogil:
    ctypedef struct fd_cache_level:
        long long size
        int line
        int ways
        int sharing
    ctypedef struct fd_caches:
        fd_cache_level l1d
        fd_cache_level l2
        fd_cache_level l3
        int source
    const fd_caches *fd_cpu_caches()
    void fd_caches_default(fd_caches *c)


cdef extern from "gemm/gemm_bf16.h" nogil:
    ctypedef struct fd_gemm_blocks:
        int mr
        int nr
        long long kc
        long long mc
        long long nc
    fd_gemm_blocks fd_gemm_blocking_f32(int isa, const fd_caches *c)
    fd_gemm_blocks fd_gemm_blocking_f64(int isa, const fd_caches *c)
    fd_gemm_blocks fd_gemm_bf16_blocking(int isa, const fd_caches *c)
    ctypedef struct fd_gemm_epi_f32:
        const unsigned int *b_packed
    int fd_gemm_f32(fd_ctx ctx, long long m, long long k, long long n, const float *A,
                    long long a_rs, long long a_cs, const float *B, long long b_rs,
                    long long b_cs, float *C, long long c_rs, long long c_cs,
                    const fd_gemm_epi_f32 *epi, void *work)
    long long fd_gemm_bf16_packed_words(fd_ctx ctx, long long k, long long n)
    void fd_gemm_bf16_pack_rows(fd_ctx ctx, long long k, long long n, long long p0,
                                long long p1, const float *B, long long b_rs, unsigned int *dst)
    int fd_gemm_tall_mr_f32(int isa)
    int fd_gemm_caches_f32(fd_ctx ctx, const fd_caches *c, long long m, long long k, long long n,
                           const float *A, long long a_rs, long long a_cs, const float *B,
                           long long b_rs, long long b_cs, float *C, long long c_rs,
                           long long c_cs, const void *epi, void *work)
    int fd_gemm_caches_f64(fd_ctx ctx, const fd_caches *c, long long m, long long k, long long n,
                           const double *A, long long a_rs, long long a_cs, const double *B,
                           long long b_rs, long long b_cs, double *C, long long c_rs,
                           long long c_cs, const void *epi, void *work)


CACHE_SOURCES = ("defaults", "cpuid leaf 4", "cpuid 0x8000001d", "cpuid 0x80000005/6", "sysfs")
_LEVELS = ("l1d", "l2", "l3")
_DTYPES = ("float32", "float64", "bfloat16")


cdef dict _level_dict(fd_cache_level lv):
    return {"size": lv.size, "line": lv.line, "ways": lv.ways, "sharing": lv.sharing}


cdef dict _caches_dict(const fd_caches *c):
    return {
        "l1d": _level_dict(c.l1d),
        "l2": _level_dict(c.l2),
        "l3": _level_dict(c.l3),
        "source": CACHE_SOURCES[c.source],
    }


def cache_info() -> dict:
    """The caches this CPU reports (read once per process): for "l1d", "l2" and
    "l3" a dict of size (bytes, 0 when absent), line (bytes), ways (0: unknown
    or fully associative) and sharing (logical CPUs sharing it); "source"
    says where they were read."""
    return _caches_dict(fd_cpu_caches())


def default_caches() -> dict:
    """The documented fallback caches used where the CPU reports none."""
    cdef fd_caches c
    fd_caches_default(&c)
    return _caches_dict(&c)


cdef int _fill_caches(object caches, fd_caches *c) except -1:
    """caches (a dict shaped as cache_info(), missing keys default) -> *c."""
    cdef fd_cache_level *lv
    fd_caches_default(c)
    c.l3.size = 0
    if not isinstance(caches, dict):
        raise TypeError("caches must be a dict such as cache_info() returns, got %s"
                        % type(caches).__name__)
    for name in caches:
        if name not in _LEVELS and name != "source":
            raise ValueError("caches: unknown level %r (expected l1d, l2, l3)" % (name,))
    for i, name in enumerate(_LEVELS):
        if name not in caches:
            continue
        lv = &c.l1d if i == 0 else (&c.l2 if i == 1 else &c.l3)
        level = caches[name]
        size = int(level["size"])
        if size < 0 or (i < 2 and size < 1024):
            raise ValueError("caches[%r]['size'] must be >= 1024 bytes, got %d" % (name, size))
        lv.size = size
        lv.line = int(level.get("line", 64))
        lv.ways = int(level.get("ways", 0))
        lv.sharing = max(1, int(level.get("sharing", 1)))
    return 0


def gemm_blocking(isa: int, dtype: str = "float32", caches: object = None) -> dict:
    """Register tile (mr, nr) and cache blocks (kc, mc, nc) the GEMM of SIMD
    path `isa` uses for `dtype` ("float32", "float64" or "bfloat16") on
    `caches` (a dict as cache_info() returns; None: this CPU's)."""
    cdef fd_caches c
    cdef fd_gemm_blocks b
    if dtype not in _DTYPES:
        raise ValueError("dtype must be one of %s, got %r" % (", ".join(_DTYPES), dtype))
    if not 0 <= isa < len(ISA_NAMES):
        raise ValueError("isa must be in [0, %d), got %r" % (len(ISA_NAMES), isa))
    if caches is None:
        c = fd_cpu_caches()[0]
    else:
        _fill_caches(caches, &c)
    if dtype == "float32":
        b = fd_gemm_blocking_f32(isa, &c)
    elif dtype == "float64":
        b = fd_gemm_blocking_f64(isa, &c)
    else:
        b = fd_gemm_bf16_blocking(isa if isa >= 3 else 0, &c)
    return {"mr": b.mr, "nr": b.nr, "kc": b.kc, "mc": b.mc, "nc": b.nc}


def gemm_tall_mr(isa: int) -> int:
    """Rows of the tall float32 tile (14 x 32) that the AVX-512 path `isa`
    runs now for products reading both operands in place, or 0 when it runs
    8 x 32 tiles only: this CPU's rule (fd_cpu_fma512_ports in
    common/cpu.h; fastdigits._config._set_gemm_tile forces a choice)."""
    if not 0 <= isa < len(ISA_NAMES):
        raise ValueError("isa must be in [0, %d), got %r" % (len(ISA_NAMES), isa))
    return fd_gemm_tall_mr_f32(isa)


ctypedef fused real:
    float
    double


def _gemm_on_caches(A, B, C, object caches, int isa, int nthreads, int bf16=0, int tile=0):
    """Test hook: C = A @ B by the GEMM blocked for `caches` instead of this
    CPU's (row-major operands; isa must be one this CPU runs; tile: 0 the
    CPU's float32 tiles, 1 8 x 32 only, 2 with 14 x 32, as fd_ctx.tile)."""
    cdef fd_caches c
    cdef fd_ctx ctx
    if isa > fd_cpu_best_isa() or isa < 0:
        raise ValueError("isa %d is not available on this CPU" % isa)
    if nthreads < 1:
        raise ValueError("nthreads must be >= 1, got %d" % nthreads)
    _fill_caches(caches, &c)
    ctx.isa = isa
    ctx.nthreads = nthreads
    ctx.precision = 1 if bf16 else 0
    if not 0 <= tile <= 2:
        raise ValueError("tile must be 0, 1 or 2, got %d" % tile)
    ctx.tile = tile
    # one plain def over a cdef fused body: a fused def makes two code objects
    # with equal descriptions, which gcc merges and ASan (the fuzz stage's
    # clang runtime) then reports as an ODR violation
    if C.dtype.itemsize == 4:
        _gemm_caches_run[float](A, B, C, ctx, &c)
    elif bf16:
        raise ValueError("bf16 needs float32 operands")
    else:
        _gemm_caches_run[double](A, B, C, ctx, &c)


def _bf16_matmul_packed_b(const float[:, ::1] A, const float[:, ::1] B, float[:, ::1] C,
                          int isa, int nthreads, long long chunk):
    """Test hook: C = A @ B in bfloat16 with B packed beforehand
    (fd_gemm_bf16_pack_rows, `chunk` rows at a time, last chunk first) and
    passed as epi.b_packed; returns the packed words (uint32)."""
    cdef fd_ctx ctx
    cdef fd_gemm_epi_f32 epi
    cdef long long m = A.shape[0], k = A.shape[1], n = B.shape[1], p0
    cdef int rc
    if isa > fd_cpu_best_isa() or isa < 0:
        raise ValueError("isa %d is not available on this CPU" % isa)
    if B.shape[0] != k or C.shape[0] != m or C.shape[1] != n or k < 1 or n < 1:
        raise ValueError("A, B, C: shapes do not match (m, k) @ (k, n) -> (m, n), k, n >= 1")
    if chunk < 2 or chunk % 2:
        raise ValueError("chunk must be even and >= 2")
    ctx.isa = isa
    ctx.nthreads = nthreads
    ctx.precision = 1
    ctx.tile = 0
    packed = np.full(fd_gemm_bf16_packed_words(ctx, k, n), 0xDEADBEEF, np.uint32)
    cdef unsigned int[::1] pk = packed
    memset(&epi, 0, sizeof(epi))
    epi.b_packed = &pk[0]
    with nogil:
        p0 = (k - 1) // chunk * chunk
        while p0 >= 0:
            fd_gemm_bf16_pack_rows(ctx, k, n, p0, min(p0 + chunk, k), &B[0, 0], n, &pk[0])
            p0 -= chunk
        rc = fd_gemm_f32(ctx, m, k, n, &A[0, 0] if m else NULL, k, 1, &B[0, 0], n, 1,
                         &C[0, 0] if m else NULL, n, 1, &epi, NULL)
    if rc != 0:
        raise ValueError("fd_gemm failed (%d)" % rc)
    return packed


cdef int _gemm_caches_run(const real[:, ::1] A, const real[:, ::1] B, real[:, ::1] C,
                          fd_ctx ctx, fd_caches *c) except -1:
    cdef int rc
    cdef long long m = A.shape[0], k = A.shape[1], n = B.shape[1]
    if B.shape[0] != k or C.shape[0] != m or C.shape[1] != n:
        raise ValueError("A, B, C: shapes do not match (m, k) @ (k, n) -> (m, n)")
    with nogil:
        if real is float:
            rc = fd_gemm_caches_f32(ctx, c, m, k, n, &A[0, 0] if m and k else NULL, k, 1,
                                    &B[0, 0] if k and n else NULL, n, 1,
                                    &C[0, 0] if m and n else NULL, n, 1, NULL, NULL)
        else:
            rc = fd_gemm_caches_f64(ctx, c, m, k, n, &A[0, 0] if m and k else NULL, k, 1,
                                    &B[0, 0] if k and n else NULL, n, 1,
                                    &C[0, 0] if m and n else NULL, n, 1, NULL, NULL)
    if rc != 0:
        raise MemoryError("fd_gemm failed (%d)" % rc)
    return 0


cdef extern from "common/fd_fpenv.h" nogil:
    ctypedef unsigned int fd_fpenv
    int FD_HAVE_FPENV
    fd_fpenv FD_FPENV_FLUSH
    fd_fpenv fd_fpenv_get()
    fd_fpenv fd_fpenv_flushing(fd_fpenv env)
    fd_fpenv fd_fpenv_enter(fd_fpenv env)


def fpenv_controls() -> int:
    """The calling thread's floating-point control bits (x86: MXCSR without
    its exception flags; AArch64: FPCR; 0 where the kernels keep no
    environment)."""
    return fd_fpenv_get()


def flush_denormals_supported() -> bool:
    """Whether the kernels can set and pass on the denormal controls (x86,
    AArch64)."""
    return bool(FD_HAVE_FPENV)


def flush_denormals_bits() -> int:
    """The bits of fpenv_controls() that flush denormals (x86: FTZ | DAZ,
    AArch64: FZ)."""
    return FD_FPENV_FLUSH


def _set_flush_denormals(bint on) -> None:
    """Tests: denormal flushing (x86 FTZ and DAZ, AArch64 FZ) on or off in
    the calling thread (as ``torch.set_flush_denormal`` does), so they can
    check that kernels compute in the caller's environment and leave it as
    it was."""
    cdef fd_fpenv env = fd_fpenv_get()
    fd_fpenv_enter(fd_fpenv_flushing(env) if on else env & ~FD_FPENV_FLUSH)
