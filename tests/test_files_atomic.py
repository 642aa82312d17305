"""write_idx is atomic: a failed or interrupted write never leaves a partial
file behind, an existing file survives a failed replacement, and readers of
a file being replaced see the old or the new content, never a mix.

Failures are real where possible: a full tmpfs (when this process may mount
one) or the kernel's RLIMIT_FSIZE (EFBIG from write(2)), and SIGKILL of a
writer process mid-write.
"""

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastdigits
from fastdigits import IDXError, read_idx, read_idx_header, write_idx

HERE = os.path.dirname(os.path.abspath(__file__))
# Children import the same fastdigits this process imported.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdigits.__file__)))


def _listing(d):
    return sorted(os.listdir(d))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [HERE, PKG_PARENT] + env.get("PYTHONPATH", "").split(os.pathsep)
    )
    return env


def _run(code, timeout=120, check=True):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


# ------------------------------------------------------------ basic contract
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_creates_complete_file_and_no_leftovers(tmp_path, name):
    arr = np.arange(6 * 5 * 3, dtype=np.int32).reshape(6, 5, 3)
    path = tmp_path / name
    assert write_idx(path, arr) == path
    assert _listing(tmp_path) == [name]
    np.testing.assert_array_equal(read_idx(path), arr)
    mode = os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # a normal file, not mkstemp's 0600


def test_replaces_existing_file(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((3, 4), np.uint8))
    write_idx(path, np.ones((5,), np.float64))
    assert _listing(tmp_path) == ["x.idx"]
    np.testing.assert_array_equal(read_idx(path), np.ones(5))


# --------------------------------------------------- failures while writing
def _limit_script(path, old_bytes_len, limit):
    # Runs in a child: RLIMIT_FSIZE makes write(2) past `limit` fail (EFBIG);
    # SIGXFSZ is ignored so the failure arrives as an OSError.
    return """
        import os, resource, signal, sys, errno
        import numpy as np
        from fastdigits import write_idx
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d))
        big = np.arange(200_000, dtype=np.float64)
        for compress in (False, True):
            try:
                write_idx(%r, big, compress=compress)
            except OSError as exc:
                print("failed", errno.errorcode.get(exc.errno))
            else:
                print("wrote")
    """ % (limit, limit, str(path))


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "keep.idx"
    old = np.arange(100, dtype=np.uint8)
    write_idx(path, old)
    before = path.read_bytes()
    out = _run(_limit_script(path, len(before), 64 * 1024)).stdout.split("\n")
    assert out[:2] == ["failed EFBIG", "failed EFBIG"], out
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["keep.idx"]
    np.testing.assert_array_equal(read_idx(path), old)


def _mount_small_tmpfs(where):
    """Mount a 256 KiB tmpfs at `where` (root only); True on success."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True
    )
    return r.returncode == 0


def test_disk_full(tmp_path):
    """ENOSPC on a full filesystem (a small tmpfs when mountable; otherwise the
    same failure path through RLIMIT_FSIZE): old file intact, no temp file,
    space given back."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not _mount_small_tmpfs(mnt):
        out = _run(_limit_script(mnt / "d.idx", 0, 128 * 1024)).stdout.split()
        assert out[0] == "failed" and not os.listdir(mnt)
        return
    try:
        path = mnt / "d.idx"
        old = np.arange(1000, dtype=np.int16)
        write_idx(path, old)
        before = path.read_bytes()
        free0 = shutil.disk_usage(mnt).free
        big = np.random.default_rng(0).random(100_000)  # 800 kB, does not fit
        for compress in (False, True):
            with pytest.raises(OSError) as info:
                write_idx(path, big, compress=compress)
            assert info.value.errno == errno.ENOSPC
            assert _listing(mnt) == ["d.idx"]
            assert path.read_bytes() == before
        assert shutil.disk_usage(mnt).free == free0  # the temp file's space is back
        # A write that fits still works after the failures.
        write_idx(path, old[:10])
        np.testing.assert_array_equal(read_idx(path), old[:10])
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_interrupt_during_write(tmp_path, monkeypatch):
    """KeyboardInterrupt (Ctrl-C) at the last moment before the rename."""
    path = tmp_path / "i.idx"
    write_idx(path, np.arange(10, dtype=np.uint8))
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_idx(path, np.arange(50, dtype=np.uint8))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["i.idx"]


def test_bad_array_never_touches_the_target(tmp_path):
    path = tmp_path / "t.idx"
    write_idx(path, np.arange(4, dtype=np.uint8))
    before = path.read_bytes()
    for bad in (np.zeros(3, np.complex64), np.float64(1.0), np.zeros(3, object)):
        with pytest.raises((TypeError, ValueError)):
            write_idx(path, bad)
    assert path.read_bytes() == before and _listing(tmp_path) == ["t.idx"]


def test_missing_directory_is_a_clean_oserror(tmp_path):
    target = tmp_path / "nope" / "x.idx"
    # the error names the path asked for (it named the hidden temp file)
    with pytest.raises(FileNotFoundError) as info:
        write_idx(target, np.zeros(3, np.uint8))
    assert info.value.filename == str(target) and str(target) in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        fastdigits.to_png(np.zeros((1, 4, 4), np.uint8), tmp_path / "nope" / "x.png")
    assert info.value.filename == str(tmp_path / "nope" / "x.png")
    assert _listing(tmp_path) == []


def test_a_name_ending_in_a_separator_is_refused(tmp_path):
    # realpath dropped the separator: "new/" wrote a file "new", and
    # "old.idx/" replaced old.idx; open() refuses both
    old = tmp_path / "old.idx"
    write_idx(old, np.arange(3, dtype=np.uint8))
    before = old.read_bytes()
    with pytest.raises(IsADirectoryError, match="cannot end in a separator"):
        write_idx(str(tmp_path / "new") + os.sep, np.zeros(3, np.uint8))
    with pytest.raises(NotADirectoryError, match="separator after it"):
        write_idx(str(old) + os.sep, np.zeros(3, np.uint8))
    assert old.read_bytes() == before and _listing(tmp_path) == ["old.idx"]


def test_sigkill_mid_write_leaves_old_or_new_file(tmp_path):
    """A writer killed at random moments: the target is always a complete old
    or new file (a hidden temp file may remain; it is never the target)."""
    path = tmp_path / "k.idx"
    old = np.zeros((64, 1024), np.float32)
    write_idx(path, old)
    script = """
        import numpy as np, sys
        from fastdigits import write_idx
        new = np.ones((64, 1024), np.float32)
        print("ready", flush=True)
        while True:
            write_idx(%r, new)
    """ % str(path)
    for delay in (0.0, 0.01, 0.03, 0.07, 0.15):
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script)],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        got = read_idx(path)
        assert got.shape == old.shape and got.dtype == old.dtype
        assert np.all(got == 0) or np.all(got == 1)
        for name in _listing(tmp_path):
            assert name == "k.idx" or (name.startswith(".k.idx.") and name.endswith(".tmp"))


# ------------------------------------------------ reading while replaced
@pytest.mark.parametrize("mmap", [False, True])
def test_read_while_replaced_sees_old_or_new(tmp_path, mmap):
    path = tmp_path / "r.idx"
    a = np.full((32, 28, 28), 7, np.uint8)
    b = np.full((32, 28, 28), 200, np.uint8)
    write_idx(path, a)
    stop = threading.Event()
    errors = []

    def writer():
        i = 0
        while not stop.is_set():
            write_idx(path, b if i % 2 else a)
            i += 1

    def reader():
        for _ in range(300):
            try:
                got = read_idx(path, mmap=mmap)
                hdr = read_idx_header(path)
                assert hdr.shape == a.shape
                v = int(got[0, 0, 0])
                if v not in (7, 200) or not np.all(np.asarray(got) == v):
                    errors.append("mixed content")
            except Exception as exc:  # noqa: BLE001  (any failure is a test failure)
                errors.append(repr(exc))

    w = threading.Thread(target=writer)
    readers = [threading.Thread(target=reader) for _ in range(3)]
    w.start()
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    stop.set()
    w.join()
    assert not errors, errors[:5]


def test_read_of_file_truncated_in_place_fails_cleanly(tmp_path):
    """Someone rewrites the file in place (not atomically) while we read:
    each read returns the full array or raises IDXError, nothing else."""
    path = tmp_path / "t.idx"
    arr = np.arange(64 * 1024, dtype=np.int32)
    write_idx(path, arr)
    good = path.read_bytes()
    stop = threading.Event()
    outcomes = {"ok": 0, "idxerror": 0}
    errors = []

    def rewriter():
        while not stop.is_set():
            with open(path, "r+b") as f:
                f.truncate(37)
                f.seek(0)
                f.write(good)

    def reader():
        for _ in range(200):
            try:
                got = read_idx(path)
                if not np.array_equal(got, arr):
                    errors.append("wrong data returned")
                outcomes["ok"] += 1
            except IDXError:
                outcomes["idxerror"] += 1
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    t = threading.Thread(target=rewriter)
    t.start()
    try:
        reader()
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:5]
    assert outcomes["ok"] + outcomes["idxerror"] == 200


def test_concurrent_writes_keep_umask_and_modes(tmp_path):
    """write_idx from 8 threads at once: every file gets the umask-derived
    mode and the process umask is left exactly as it was."""
    umask = os.umask(0o027)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        barrier = threading.Barrier(8)

        def work(i):
            barrier.wait()
            for j in range(40):
                write_idx(tmp_path / ("w%d_%d.idx" % (i, j)), np.arange(j + 1, dtype=np.uint8))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        now = os.umask(0o027)
        assert now == 0o027, "write_idx changed the process umask to %o" % now
        modes = {os.stat(tmp_path / n).st_mode & 0o777 for n in os.listdir(tmp_path)}
        assert modes == {0o640}
        assert len(os.listdir(tmp_path)) == 8 * 40
    finally:
        sys.setswitchinterval(switch)
        os.umask(umask)


# ------------------------------------- what is at the path (issue 11, item 7)
def _writers():
    """Every atomic writer in the package: they share fastdigits._atomic."""
    from fastdigits.reference import idx as ref

    out = [
        ("write_idx", lambda p, a: write_idx(p, a)),
        ("reference.write_idx", lambda p, a: ref.write_idx(p, a)),
    ]
    try:
        import PIL  # noqa: F401

        out.append(("to_png", lambda p, a: fastdigits.to_png(a[None] if a.ndim == 2 else a, p)))
    except ImportError:
        pass
    return out


WRITERS = _writers()
# to_png writes only to *.png names
EXT = {"write_idx": ".idx", "reference.write_idx": ".idx", "to_png": ".png"}
WRITER_IDS = [w[0] for w in WRITERS]


def _check_written(kind, path, arr):
    if kind == "to_png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        np.testing.assert_array_equal(read_idx(path), arr)


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
def test_symlink_is_followed_and_stays_a_link(tmp_path, kind, writer):
    real_dir = tmp_path / "real"
    link_dir = tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / f"data{EXT[kind]}"
    write_idx(target, np.zeros((4, 4), np.uint8))
    link = link_dir / f"data{EXT[kind]}"
    os.symlink(target, link)
    arr = np.full((4, 4), 9, np.uint8)
    writer(link, arr)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    _check_written(kind, target, arr)
    # The temp file was made (and renamed) in the target's folder.
    assert _listing(link_dir) == [f"data{EXT[kind]}"] and _listing(real_dir) == [f"data{EXT[kind]}"]


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
def test_dangling_symlink_creates_its_target(tmp_path, kind, writer):
    link = tmp_path / f"link{EXT[kind]}"
    os.symlink(tmp_path / f"new{EXT[kind]}", link)
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    writer(link, arr)
    assert os.path.islink(link)
    _check_written(kind, tmp_path / f"new{EXT[kind]}", arr)


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
def test_fifo_device_and_directory_are_refused(tmp_path, kind, writer):
    fifo = tmp_path / f"pipe{EXT[kind]}"
    os.mkfifo(fifo)
    arr = np.zeros((2, 2), np.uint8)
    with pytest.raises(OSError, match=f"pipe{EXT[kind]}.*FIFO"):
        writer(fifo, arr)
    assert os.path.exists(fifo) and not os.path.isfile(fifo)
    to_null = tmp_path / f"null{EXT[kind]}"
    os.symlink("/dev/null", to_null)
    with pytest.raises(OSError, match=f"null{EXT[kind]}.*/dev/null.*character device"):
        writer(to_null, arr)
    assert os.path.islink(to_null) and not os.path.isfile("/dev/null")
    folder = tmp_path / f"dir{EXT[kind]}"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=f"dir{EXT[kind]}.*directory"):
        writer(folder, arr)
    loop = tmp_path / f"loop{EXT[kind]}"
    os.symlink(loop, loop)
    with pytest.raises(OSError, match="symbolic links"):
        writer(loop, arr)
    assert _listing(tmp_path) == [
        f"dir{EXT[kind]}",
        f"loop{EXT[kind]}",
        f"null{EXT[kind]}",
        f"pipe{EXT[kind]}",
    ]
    assert os.listdir(folder) == []


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_existing_file_keeps_its_mode(tmp_path, kind, writer, mode):
    path = tmp_path / f"m{EXT[kind]}"
    write_idx(path, np.zeros(3, np.uint8))
    os.chmod(path, mode)
    writer(path, np.ones((3, 3), np.uint8))
    assert os.stat(path).st_mode & 0o7777 == mode


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
def test_new_file_mode_follows_umask(tmp_path, kind, writer):
    umask = os.umask(0o077)
    try:
        writer(tmp_path / f"u{EXT[kind]}", np.ones((3, 3), np.uint8))
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / f"u{EXT[kind]}").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kind,writer", WRITERS, ids=WRITER_IDS)
def test_interrupt_in_writer_leaves_no_temp(tmp_path, monkeypatch, kind, writer):
    import fastdigits._atomic as atomic

    path = tmp_path / f"x{EXT[kind]}"
    write_idx(path, np.zeros(3, np.uint8))
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer(path, np.ones((3, 3), np.uint8))
    monkeypatch.undo()
    assert _listing(tmp_path) == [f"x{EXT[kind]}"] and path.read_bytes() == before


def test_bytes_paths(tmp_path):
    """write_idx takes the bytes paths read_idx takes (item 13)."""
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    for name in (b"b.idx", b"b.idx.gz", b"caf\xe9.idx"):
        path = os.fsencode(str(tmp_path)) + b"/" + name
        assert write_idx(path, arr) == path
        np.testing.assert_array_equal(read_idx(path), arr)
        assert read_idx_header(path).compressed == name.endswith(b".gz")
