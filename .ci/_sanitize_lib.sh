# Shared by .ci/sanitize, .ci/fuzz and .ci/portable (sourced, not run).
#   build_reqs PY              install Cython etc. where PY lacks them
#   san_copy_tree ROOT WORK    copy the source tree (no build outputs) to WORK
#   san_build WORK PY          build it in place with FASTDIGITS_SANITIZE=$SAN
#   san_env WORK               export the run-time environment (ASan preloaded)
#   san_verify WORK PY         check the build is the one imported and instrumented
#   san_reports WORK           print sanitizer reports; fails if there are any
SAN=${FASTDIGITS_SANITIZE:-address,undefined}
CC=${CC:-gcc}

san_copy_tree() {
    local root=$1 work=$2
    if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$root" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -) | tar -C "$work" -xf -
    else
        tar -C "$root" --exclude=build --exclude='*.so' --exclude='*.o' \
            --exclude='fastdigits/_*.c' --exclude='.venv*' -cf - . | tar -C "$work" -xf -
    fi
}

build_reqs() {
    # An in-place build needs the build requirements in this environment (pip
    # install put them only in its isolated build environment).
    local py=$1
    if ! "$py" -c "import Cython, setuptools, numpy" 2>/dev/null; then
        echo "ci: installing the build requirements (Cython, setuptools)"
        "$py" -m pip install -q "Cython>=3.0" "setuptools>=77" wheel "numpy>=1.25" ||
            { echo "ci: cannot install the build requirements"; return 1; }
    fi
}

san_build() {
    local work=$1 py=$2
    echo "sanitize: building with FASTDIGITS_SANITIZE=$SAN in $work"
    build_reqs "$py"
    (cd "$work" && FASTDIGITS_SANITIZE="$SAN" CC="$CC" "$py" setup.py -q build_ext --inplace \
        -j "${BUILD_JOBS:-2}" >build.log 2>&1) ||
        { tail -n 60 "$work/build.log"; echo "sanitize: build failed"; return 1; }
}

san_env() {
    local work=$1 libasan libstdcxx
    libasan=$("$CC" -print-file-name=libasan.so)
    [ -f "$libasan" ] || { echo "sanitize: $CC has no libasan.so ($libasan)"; return 1; }
    # libstdc++ too: ASan resolves the real __cxa_throw at start-up, and C++
    # extensions loaded later (matplotlib, torch) throw exceptions.
    libstdcxx=$("$CC" -print-file-name=libstdc++.so.6)
    [ -f "$libstdcxx" ] || libstdcxx=
    export LD_PRELOAD="$libasan${libstdcxx:+:$libstdcxx}${LD_PRELOAD:+:$LD_PRELOAD}"
    # CPython leaks by design at exit: no leak check.  allocator_may_return_null:
    # a huge allocation must fail like malloc (MemoryError tests), not abort.
    # Everything else found is fatal.
    # Reports also go to files: pytest captures fd 2, and an aborting process
    # would take the report with it (san_reports prints them).
    export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0:log_path=$work/sanitizer-report${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$work/sanitizer-report${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export PYTHONDONTWRITEBYTECODE=1
    export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
}

san_reports() {
    # Print sanitizer reports written during the run; status 1 if there were any.
    # "failed to allocate" warnings are not reports: a huge request returned
    # NULL (allocator_may_return_null) and Python raised MemoryError, as the
    # bad-input tests intend.
    local work=$1 f found=0 warned=0
    for f in "$work"/sanitizer-report.*; do
        [ -e "$f" ] || continue
        if ! grep -v -q -E "WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes|^[[:space:]]*$" "$f"; then
            warned=$((warned + $(grep -c "failed to allocate" "$f")))
            continue
        fi
        found=1
        echo "===== $f"
        cat "$f"
    done
    [ $warned -eq 0 ] || echo "sanitize: $warned huge allocation(s) refused as intended (MemoryError)"
    return $found
}

san_verify() {
    local work=$1 py=$2
    (cd "$work" && "$py" - "$work" "$SAN" <<'PYEOF'
import ctypes, glob, os, subprocess, sys
work, san = sys.argv[1], sys.argv[2]
assert hasattr(ctypes.CDLL(None), "__asan_report_load1"), "ASan runtime not loaded"
import fastdigits
assert os.path.realpath(fastdigits.__file__).startswith(os.path.realpath(work)), fastdigits.__file__
sos = glob.glob(os.path.join(work, "fastdigits", "*.so"))
assert sos, "no extension modules built"
for so in sos:
    syms = subprocess.run(["nm", "-D", "--undefined-only", so], capture_output=True,
                          text=True, check=True).stdout
    need = ["__asan_"] + (["__ubsan_"] if "undefined" in san else [])
    for n in need:
        assert n in syms, "%s is not instrumented (%s missing)" % (os.path.basename(so), n)
print("sanitize: %d instrumented extension modules" % len(sos))
PYEOF
    )
}
