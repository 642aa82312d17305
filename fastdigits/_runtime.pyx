"""CPU features and OpenMP facts, read from the C layer."""

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
