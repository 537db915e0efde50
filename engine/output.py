"""Output files: checked before the work starts, then written whole or not at all.

An output is standard output (``-``) or a regular file. The file is written to a
temporary file in the directory of the file it replaces and renamed over it, so
that a reader sees the old file or the new one, never part of one. Because a
rename replaces whatever the name points at, everything that is not a regular
file is refused rather than replaced: a device node (``-o /dev/null`` run as root
would otherwise leave a regular file where the system expects its null device),
a FIFO, a socket, a directory, this process's own standard output or error under
another name (``/dev/stdout``). A symbolic link is followed, so the link stays and
its target is updated; an existing file keeps its mode (and, where we may, its
owner), a new one gets 0666 less the umask, as a shell's ``>`` would give it.

A file nobody may write is read-only and stays as it is, even for root, who could
replace it; a file inside a directory the command reads (rules, profiles) or the
profile being scored is an input and is never replaced by an output.

Every operating-system error becomes an :class:`OutputError`: one line, the path,
the reason, a stable code, exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO
from typing import Any

from .errors import InputError
from .errors import display_path

STDOUT = "-"

# errno -> code, for the failures that have a remedy of their own
_CODES = {
    errno.ENOENT: "output-no-directory",
    errno.ENOTDIR: "output-no-directory",
    errno.EACCES: "output-permission",
    errno.EPERM: "output-permission",
    errno.EROFS: "output-read-only-fs",
    errno.ENOSPC: "output-no-space",
    errno.EDQUOT: "output-no-space",
    errno.EISDIR: "output-is-directory",
    errno.ELOOP: "output-symlink-loop",
    errno.ENAMETOOLONG: "output-name-too-long",
}

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


class OutputError(InputError):
    """The output cannot go where the user asked; nothing was written there."""

    def __init__(self, code: str, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason} [{code}]", code)


def os_error(exc: OSError, path: str, doing: str = "cannot write the output") -> OutputError:
    reason = exc.strerror or str(exc)
    name = errno.errorcode.get(exc.errno or 0)
    detail = f"{doing}: {reason}" + (f" ({name})" if name else "")
    return OutputError(_CODES.get(exc.errno or 0, "output-failed"), path, detail)


@dataclass(frozen=True)
class Target:
    """Where an output goes: ``path`` is the regular file written (symbolic links
    followed), None for standard output; ``shown`` is the name the user gave."""

    shown: str
    path: str | None

    @property
    def is_stdout(self) -> bool:
        return self.path is None


def check(given: str | os.PathLike,
          inputs: Iterable[tuple[str, str | os.PathLike]] = ()) -> Target:
    """The target ``given`` names, if an output may be written there; else OutputError.

    ``inputs`` are (description, path) pairs: files and directories the command reads,
    which the output may neither be nor lie inside.
    """
    text = os.fspath(given)
    if text == STDOUT:
        return Target(STDOUT, None)
    real, st = _inspect(text, text)
    for what, path in inputs:
        _refuse_input(real, st, text, what, os.fspath(path))
    _probe(real, text)
    return Target(text, real)


def _inspect(text: str, shown: str) -> tuple[str, os.stat_result | None]:
    """The real path the output would replace and its status (None: a new file)."""
    try:
        st: os.stat_result | None = os.stat(text)  # follows symbolic links, /dev/stdout's too
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise os_error(exc, shown) from None
    if st is not None:
        for stream, name in ((1, "standard output"), (2, "standard error")):
            with contextlib.suppress(OSError):
                mine = os.fstat(stream)
                if (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino):
                    raise OutputError("output-not-a-file", shown,
                                      f"this process's {name} under another name; "
                                      "write '-' for standard output")
        if stat.S_ISDIR(st.st_mode):
            raise OutputError("output-is-directory", shown, "a directory; name a file to write")
        if not stat.S_ISREG(st.st_mode):
            kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
            raise OutputError(
                "output-not-a-file", shown,
                f"{kind}, not a regular file; an output replaces its file whole, so it "
                "goes only to a regular file ('-' is standard output)")
    real = os.path.realpath(text)
    directory = os.path.dirname(real) or "."
    if not os.path.isdir(directory):
        raise OutputError("output-no-directory", shown,
                          f"no such directory: {display_path(directory)}")
    with contextlib.suppress(OSError, AttributeError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            raise OutputError("output-read-only-fs", shown,
                              f"{display_path(directory)} is on a read-only file system")
    if st is not None:
        if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise OutputError("output-read-only", shown,
                              f"a read-only file (mode {stat.S_IMODE(st.st_mode):04o}); "
                              "it is left as it is")
        if not os.access(real, os.W_OK):
            raise OutputError("output-permission", shown,
                              "cannot write the output: permission denied on the file")
    return real, st


def _probe(real: str, shown: str) -> None:
    """Create and remove a temporary file where the output will go: the one test that
    the directory takes new files (permissions, a read-only mount, /proc) before the
    work starts rather than after it."""
    directory, name = os.path.split(real)
    try:
        with _blocked():
            fd, tmp = _create(directory, name, private=True)
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        error = os_error(exc, shown, f"cannot create a file in {display_path(directory)}")
        if exc.errno == errno.ENOENT:  # the directory exists: it takes no files (/proc)
            error = OutputError("output-cannot-create", shown, error.reason)
        raise error from None


def _refuse_input(real: str, st: os.stat_result | None, shown: str, what: str, path: str) -> None:
    inside = os.path.realpath(path)
    if os.path.isdir(inside):
        if real == inside or real.startswith(inside.rstrip(os.sep) + os.sep):
            raise OutputError("output-is-input", shown,
                              f"inside {what} {display_path(path)}, which this command reads; "
                              "an output never replaces an input: write it elsewhere")
        return
    same = real == inside
    if not same and st is not None:
        with contextlib.suppress(OSError):
            same = os.path.samefile(real, inside)
    if same:
        raise OutputError("output-is-input", shown,
                          f"{what}, which this command reads; an output never replaces "
                          "an input: write it elsewhere")


def write(target: Target, text: str) -> None:
    """Replace the target's file with ``text`` (UTF-8), whole, or leave it as it was."""
    write_bytes(target, text.encode("utf-8"))


def write_bytes(target: Target, data: bytes) -> None:
    """Replace the target's file with ``data``, whole, or leave it as it was.

    SIGTERM and SIGHUP, like Ctrl-C, remove the temporary file before the process
    ends; the signal then does what it would have done.
    """
    write_stream(target, lambda fh: fh.write(data))


def write_stream(target: Target, produce: Callable[[IO[bytes]], object]) -> None:
    """Replace the target's file with what ``produce`` writes to the stream it is given,
    whole, or leave it as it was: the bytes go to a temporary file, renamed at the end."""
    assert target.path is not None, "standard output is written by the caller"
    real, st = _inspect(target.path, target.shown)  # the file system may have changed since
    try:
        with _signals_raise():
            _replace(real, st, produce)
    except _Signalled as sig:
        signal.raise_signal(sig.signum)  # the previous handler is back: default ends us
        raise OutputError("output-interrupted", target.shown,
                          f"interrupted by {signal.Signals(sig.signum).name}; "
                          "the file was left as it was") from None
    except OSError as exc:
        raise os_error(exc, target.shown) from None


def _replace(real: str, st: os.stat_result | None,
             produce: Callable[[IO[bytes]], object]) -> None:
    directory, name = os.path.split(real)
    tmp = ""
    try:
        # Blocked while the file is created, so that a signal cannot strike between the
        # creation and the moment we know the name to remove.
        with _blocked():
            fd, tmp = _create(directory, name, private=st is not None)
        with open(fd, "wb") as fh:
            if st is not None:
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, st.st_uid, st.st_gid)
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
            produce(fh)
            fh.flush()
            os.fsync(fd)
        os.replace(tmp, real)
    except BaseException:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _create(directory: str, name: str, private: bool) -> tuple[int, str]:
    # An existing file's mode is applied once the file is ours (it may be private); a new
    # file is created 0666 and the kernel takes the umask off, as it would for '>'.
    mode = 0o600 if private else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory or ".", f".{name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", directory)


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: object) -> None:
    raise _Signalled(signum)


_CATCH = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise, for the length of a write, so that the cleanup runs.
    A signal the process ignores (nohup) stays ignored; only the main thread may set
    handlers, and elsewhere the write goes on without them."""
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _CATCH:
            handler = signal.getsignal(signum)
            if handler in (signal.SIG_IGN, None):
                continue
            previous[signum] = handler
            signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {*_CATCH, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def inputs_of(rules_dir: str | Path, profiles_dir: str | Path,
              *files: str | Path) -> list[tuple[str, str | Path]]:
    """The (description, path) pairs of what a scoring command reads."""
    pairs: list[tuple[str, str | Path]] = [("the rules directory", rules_dir),
                                           ("the profiles directory", profiles_dir)]
    pairs += [("the profile being scored", f) for f in files if os.path.exists(f)]
    return pairs
