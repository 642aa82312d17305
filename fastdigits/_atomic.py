"""The one atomic file writer used by write_idx, to_png and the reference
write_idx.

``atomic_write(path, write)`` calls ``write(f)`` with a binary file object
open on a new temporary file in the final target's directory, then flushes,
fsyncs, renames it over the target and fsyncs the directory, so readers see
the old file or the complete new one, never a mix:

* a symlink is followed to its final target, which is replaced (in its own
  directory); the link itself stays a link;
* a target that exists and is not a regular file (directory, FIFO, device,
  socket) is refused with an ``OSError`` naming the path;
* an existing file's permission bits are kept; a new file gets 0666 minus
  the umask, as ``open()`` would give it;
* on any error, including KeyboardInterrupt, the temporary file is removed
  and the target is untouched.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any, BinaryIO, Callable, Tuple, Union

__all__ = ["atomic_write", "write_chunked"]

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

# write(2) of one huge buffer cannot be interrupted; pieces this big keep
# Ctrl-C responsive and cost nothing measurable.
_WRITE_PIECE = 1 << 26

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def resolve_target(path: PathArg) -> Tuple[str, int]:
    """The file an atomic write of `path` replaces, and its permission bits
    (-1 when it does not exist yet).  Raises OSError for a target that is
    not a regular file or a symlink loop."""
    name = os.fsdecode(os.fspath(path))
    if not name:
        raise FileNotFoundError(errno.ENOENT, "empty file name", name)
    seps = os.sep + (os.altsep or "")
    if name.endswith(tuple(seps)) and not os.path.isdir(name):
        # a folder's name: realpath would drop the separator and write, or
        # replace, a file of that name; refused as open() refuses it (an
        # existing folder is refused below, as a folder)
        if os.path.lexists(name.rstrip(seps)):
            raise NotADirectoryError(
                errno.ENOTDIR, "cannot write %s: a file's name with a separator after it" % name
            )
        raise IsADirectoryError(
            errno.EISDIR, "cannot write %s: a file name cannot end in a separator" % name
        )
    target = os.path.realpath(name)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if os.path.islink(target):  # realpath stops inside a loop
            raise OSError(errno.ELOOP, "too many levels of symbolic links", name) from None
        return target, -1
    if not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        shown = name if target == os.path.abspath(name) else "%s (-> %s)" % (name, target)
        exc = IsADirectoryError if stat.S_ISDIR(st.st_mode) else OSError
        raise exc(
            errno.EISDIR if exc is IsADirectoryError else errno.EINVAL,
            "cannot write %s: it is %s, not a regular file" % (shown, what),
        )
    return target, stat.S_IMODE(st.st_mode)


def _create_temp(directory: str, base: str) -> Tuple[int, str]:
    """Create ``directory/.BASE.RANDOM.tmp`` exclusively, mode 0666 minus the
    umask (applied by the kernel: reading and restoring the process umask
    instead would race with other threads)."""
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_BINARY", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    for _ in range(100):
        tmp = os.path.join(directory, ".%s.%s.tmp" % (base, os.urandom(6).hex()))
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file next to", base)


def fsync_dir(directory: str) -> None:
    """Make a rename durable (POSIX); harmless where unsupported."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_chunked(f: BinaryIO, data: Any) -> None:
    """f.write(data) in pieces (a bytes-like object of any size)."""
    mv = memoryview(data).cast("B")
    for i in range(0, len(mv), _WRITE_PIECE):
        f.write(mv[i : i + _WRITE_PIECE])


def atomic_write(path: PathArg, write: Callable[[BinaryIO], Any]) -> None:
    """Replace the file at `path` by what ``write(f)`` writes (see module doc)."""
    target, mode = resolve_target(path)
    directory, base = os.path.split(target)
    tmp = None
    try:
        try:
            fd, tmp = _create_temp(directory, base)
        except OSError as exc:
            # name the file asked for, as open() would, not the hidden temp
            # file (a missing or unwritable folder)
            raise type(exc)(exc.errno, exc.strerror, os.fsdecode(os.fspath(path))) from None
        with os.fdopen(fd, "wb") as f:
            if mode >= 0:  # keep the replaced file's permissions
                os.chmod(f.fileno() if os.chmod in os.supports_fd else tmp, mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    fsync_dir(directory)
