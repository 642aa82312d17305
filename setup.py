"""Build script: the C kernels in csrc/ and the Cython modules in fastdigits/.

The C sources are listed once, in csrc/manifest.txt.  Each is compiled once
into one static library (libfdkernels, in the build's temporary directory)
that every extension module links; the linker takes from it only what a
module uses.  Sources whose name ends in ``_avx2.c`` or ``_avx512.c`` are
compiled with that instruction set enabled (and only those), so one build
runs on any CPU and the fast path is chosen at run time.  Each
fastdigits/_*.pyx becomes one extension (its own C file only).

Environment switches:
  FASTDIGITS_NO_OPENMP=1   build serial, without OpenMP
  FASTDIGITS_NO_SIMD=1     build the portable C path only
  FASTDIGITS_SANITIZE=address,undefined   build with sanitizers (for tests;
                           the Cython modules then compile at -O0)
  FASTDIGITS_SANITIZE_LINK=0   ... without linking the sanitizer runtime (fuzzing)
  FASTDIGITS_EMULATE_AVX512=DIR   a test build for an AVX2 CPU: the *_avx512.c
                           units on SIMDe's portable AVX-512 (DIR holds simde/;
                           tools/simde/immintrin.h), chosen as the best path
"""

import glob
import os
import platform
import shutil
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.modified import newer_group
except ImportError:  # setuptools < 69
    from distutils.dep_util import newer_group

HERE = os.path.dirname(os.path.abspath(__file__))
IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64", "x64")


def env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


ISA_FLAGS = {
    "unix": {
        "avx2": ["-mavx2", "-mfma", "-mf16c"],
        "avx512": [
            "-mavx2",
            "-mfma",
            "-mf16c",
            "-mavx512f",
            "-mavx512bw",
            "-mavx512dq",
            "-mavx512vl",
        ],
    },
    "msvc": {
        "avx2": ["/arch:AVX2"],
        "avx512": ["/arch:AVX512"],
        "avx512bf16": ["/arch:AVX512"],
        "amx": ["/arch:AVX512"],
    },
}
# bf16 GEMM units: AVX-512 plus the bf16 dot product (and the AMX tiles)
ISA_FLAGS["unix"]["avx512bf16"] = ISA_FLAGS["unix"]["avx512"] + ["-mavx512bf16"]
ISA_FLAGS["unix"]["amx"] = ISA_FLAGS["unix"]["avx512bf16"] + ["-mamx-tile", "-mamx-bf16"]


MANIFEST = os.path.join("csrc", "manifest.txt")
KERNEL_LIB = "fdkernels"


def kernel_sources(manifest=MANIFEST):
    """The C sources listed in csrc/manifest.txt (comments and blank lines
    skipped), in order."""
    with open(os.path.join(HERE, manifest) if not os.path.isabs(manifest) else manifest) as f:
        lines = (line.split("#", 1)[0].strip() for line in f)
        return [line for line in lines if line]


def kernel_headers():
    return sorted(glob.glob(os.path.join("csrc", "**", "*.h"), recursive=True))


def source_isa(path):
    for isa in ("avx512bf16", "amx", "avx512", "avx2"):
        if path.endswith("_%s.c" % isa):
            return isa
    return None


def try_compile(compiler, code, extra_compile, extra_link):
    """Compile and link a tiny program; True when it works."""
    tmp = tempfile.mkdtemp(prefix="fastdigits-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(code)
        objs = compiler.compile([src], output_dir=tmp, extra_postargs=extra_compile)
        compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=extra_link)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


OPENMP_PROBE = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


def openmp_flags(compiler):
    """(compile flags, link flags) for OpenMP, or None when unavailable."""
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    for cflags, lflags in candidates:
        if try_compile(compiler, OPENMP_PROBE, cflags, lflags):
            return cflags, lflags
    return None


def build_jobs():
    """Compile jobs when the command line gives none (pip passes no -j):
    FASTDIGITS_BUILD_JOBS, else the CPUs this process may run on."""
    env = os.environ.get("FASTDIGITS_BUILD_JOBS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise SystemExit("FASTDIGITS_BUILD_JOBS must be a positive integer, got %r" % env)
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (macOS and Windows have no sched_getaffinity)
        return os.cpu_count() or 1


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        # The kernels and modules compile in parallel by default: serially,
        # a build took 102 s on 2 cores against 52 s with 2 jobs.
        if self.parallel is None:
            self.parallel = build_jobs()

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        # MSVC's compiler object sets itself up at its first compile: once
        # here, not in the parallel compiles (it asserts it is done once)
        if getattr(self.compiler, "initialized", True) is False:
            self.compiler.initialize()
        cflags, lflags, macros = [], [], []
        if ctype == "msvc":
            cflags += ["/O2"]
        else:
            cflags += ["-O3", "-fno-strict-aliasing", "-Wno-unused-function"]
        self.fd_openmp = False
        if env_flag("FASTDIGITS_NO_OPENMP"):
            print("fastdigits: OpenMP disabled by FASTDIGITS_NO_OPENMP")
        else:
            omp = openmp_flags(self.compiler)
            if omp is None:
                warnings.warn(
                    "fastdigits: no OpenMP support found; building the serial version", stacklevel=2
                )
            else:
                cflags += omp[0]
                lflags += omp[1]
                self.fd_openmp = True
        self.fd_simd = IS_X86_64 and not env_flag("FASTDIGITS_NO_SIMD")
        if not self.fd_simd:
            macros.append(("FD_NO_SIMD", "1"))
        sanitize = os.environ.get("FASTDIGITS_SANITIZE", "").strip()
        glue_opt = []  # the Cython modules' own optimisation flag, after cflags
        if sanitize and ctype != "msvc":
            # The Cython modules (argument checks and conversions: no loop
            # over data) compile at -O0, the kernels at -O3 as shipped: gcc
            # took 94 s for _mlp.c at -O3 with ASan + UBSan against 8 s at
            # -O0, most of the sanitizer builds' time in CI.
            glue_opt = ["-O0"]
            san = ["-fsanitize=" + sanitize, "-fno-omit-frame-pointer", "-g"]
            if "undefined" in sanitize:
                san.append("-fno-sanitize-recover=undefined")
            cflags += san
            # FASTDIGITS_SANITIZE_LINK=0: leave the runtime out of the modules,
            # for a process that preloads its own (atheris' asan_with_fuzzer.so).
            if os.environ.get("FASTDIGITS_SANITIZE_LINK", "1").strip() != "0":
                lflags += san
        self.fd_emulate = os.environ.get("FASTDIGITS_EMULATE_AVX512", "").strip()
        if self.fd_emulate:
            if not (self.fd_simd and ctype != "msvc"):
                raise SystemExit(
                    "FASTDIGITS_EMULATE_AVX512 needs an x86-64 SIMD build with gcc/clang"
                )
            macros.append(("FD_EMULATE_AVX512", "1"))
            print("fastdigits: AVX-512 units emulated by SIMDe from %s" % self.fd_emulate)
        self.fd_cflags, self.fd_macros = cflags, macros
        lib = self.build_kernel_lib()
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + cflags + glue_opt
            ext.extra_link_args = list(ext.extra_link_args or []) + lflags
            ext.define_macros = list(ext.define_macros or []) + macros
            # The archive goes on the link line after the module's own object
            # (before -lz & co.): only the members it needs are linked.
            ext.extra_objects = list(ext.extra_objects or []) + [lib]
            ext.depends = list(ext.depends or []) + [lib]
        super().build_extensions()

    def build_kernel_lib(self):
        """Compile every source in csrc/manifest.txt once (SIMD ones with their
        instruction-set flags) into one static library; returns its path.
        Skipped when the library is newer than every source and header."""
        sources = kernel_sources()
        out_dir = os.path.join(self.build_temp, "fdkernels")
        lib = self.compiler.library_filename(KERNEL_LIB, output_dir=out_dir)
        deps = sources + kernel_headers() + [MANIFEST]
        if self.fd_emulate:
            deps.append(os.path.join("tools", "simde", "immintrin.h"))
        if not (self.force or newer_group(deps, lib)):
            return lib
        flagset = ISA_FLAGS.get(self.compiler.compiler_type, ISA_FLAGS["unix"])

        def compile_one(src):
            isa = source_isa(src)
            flags = flagset[isa] if isa and self.fd_simd else []
            inc = ["csrc"]
            if isa == "avx512" and self.fd_emulate:
                # the unit compiled for the host's AVX2; its AVX-512 intrinsics
                # from SIMDe through the stand-in <immintrin.h>
                flags = flagset["avx2"] + ["-Wno-psabi"]
                inc = [os.path.join("tools", "simde"), self.fd_emulate] + inc
            return self.compiler.compile(
                [src],
                output_dir=out_dir,
                macros=self.fd_macros,
                include_dirs=inc,
                extra_postargs=self.fd_cflags + flags,
                debug=self.debug,
            )

        jobs = self.parallel
        jobs = (os.cpu_count() or 1) if jobs is True else (jobs or 1)
        if jobs > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                objects = [o for objs in pool.map(compile_one, sources) for o in objs]
        else:
            objects = [o for src in sources for o in compile_one(src)]
        if os.path.exists(lib):
            os.remove(lib)  # ar adds to an existing archive: no stale members
        self.compiler.create_static_lib(objects, KERNEL_LIB, output_dir=out_dir)
        return lib


def extensions():
    exts = []
    for pyx in sorted(glob.glob(os.path.join("fastdigits", "*.pyx"))):
        name = "fastdigits." + os.path.splitext(os.path.basename(pyx))[0]
        exts.append(
            Extension(
                name,
                [pyx],
                # (fastdigits/torch/_native: the native operator's kernel table)
                include_dirs=[
                    "csrc",
                    np.get_include(),
                    os.path.join("fastdigits", "torch", "_native"),
                ],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                depends=kernel_headers(),
            )
        )
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
