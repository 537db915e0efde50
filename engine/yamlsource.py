"""Reading YAML files as plain data, with the line of every value.

libyaml parses (through PyYAML or ruamel.yaml, see :mod:`engine.yamlscalars`) and
ruamel.yaml resolves scalars; this module adds the project's policy:
only the standard scalar, sequence and mapping tags (no tag may build a Python
object), no aliases (an alias bomb costs nothing to write and an exponential
amount to walk), no duplicate keys, no binary or empty files, nothing nested deeper
than ``MAX_DEPTH``, and only regular files, of which at most ``MAX_BYTES`` + 1
bytes are ever read (a pipe or a device is refused before it is opened).
Every problem is a :class:`~engine.errors.LoadError` naming the file and line.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import LoadError

# The parsers (engine.yamlevents, engine.yamlscalars, ruamel.yaml, PyYAML) are imported
# by the first parse: a command whose rule set and profiles come from the caches reads
# no YAML, and importing them was a twentieth of its start.

MAX_BYTES = 1_000_000

# Far deeper than any profile or rule file needs (a rule's conditions are refused well
# before), far shallower than what breaks the parser: libyaml takes time quadratic in the
# depth (50,000 levels: 10 s), its composer recurses in C (segfault at 50,000) and the
# node walk here in Python (RecursionError at about 1,000).
MAX_DEPTH = 100

Path_ = tuple[str | int, ...]


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Later:
    """A value of a :class:`Document` worked out the first time it is read."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class Document:
    """A parsed file: its data and the line (1-based) where each path starts.

    Either may be given as a :class:`Later`: a file's lines are needed only for a
    problem, and most files have none; a profile read back from the cache needs its
    document only if its citations fail against today's catalog.
    """

    def __init__(self, file: str, data: Any, lines: dict[Path_, int] | Later) -> None:
        self.file = file
        self._data = data
        self._lines = lines

    @property
    def data(self) -> Any:
        if type(self._data) is Later:
            self._data = self._data.make()
        return self._data

    @property
    def lines(self) -> dict[Path_, int]:
        if type(self._lines) is Later:
            self._lines = self._lines.make()
        return self._lines  # type: ignore[return-value]  # made by the line above

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path`` or, when it is absent, of its nearest present parent."""
        lines = self.lines
        p = tuple(path)
        while p:
            if p in lines:
                return lines[p]
            p = p[:-1]
        return lines.get((), None)


_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise LoadError("not-a-file", path, detail="this is a directory, not a YAML file")
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise LoadError("not-a-file", path, expected="a regular YAML file", found=kind,
                    hint="a pipe or a device is never read as a latticework file")


def _os_error(path: Path, exc: OSError) -> LoadError:
    if isinstance(exc, FileNotFoundError):
        try:
            target = os.readlink(path)
        except OSError:
            return LoadError("file-not-found", path, detail="no such file")
        from .render import safe_text  # explain imports the rules, which import this

        return LoadError("file-not-found", path, detail=f"a symbolic link to "
                         f"'{safe_text(target)}', which does not exist")
    if exc.errno == errno.ELOOP:
        return LoadError("unreadable", path, detail="cannot be read (symbolic links that lead "
                         "back to themselves, or too many of them in a row)")
    return LoadError("unreadable", path, detail=f"cannot be read ({exc.strerror or exc})")


def _read_at_most(fd: int, limit: int, size: int) -> bytes:
    """At most ``limit`` bytes of an open file, asked for by its size first: a buffered
    ``read(limit)`` set aside the whole limit (a megabyte) for every file, six times the
    cost of reading a profile."""
    chunks = []
    total = 0
    want = min(size + 1, limit)  # one byte more, to see the end (or that it grew)
    while total < limit:
        data = os.read(fd, max(1, min(want, limit - total)))
        if not data:
            break
        chunks.append(data)
        total += len(data)
        want = 1 << 16
    return b"".join(chunks)


def read_text(path: Path) -> str:
    """The text of a regular file of at most ``MAX_BYTES`` bytes, read no further than that.

    The file's type is checked before it is opened (opening a FIFO waits for a writer,
    reading /dev/zero never ends) and again on the open file, which was opened without
    waiting, in case the name was replaced in between.
    """
    path = path if isinstance(path, Path) else Path(path)  # a batch's are Paths already
    try:
        info = os.stat(path)
        _check_regular(path, info.st_mode)
        if info.st_size > MAX_BYTES:
            raise LoadError("file-too-large", path, expected=f"at most {MAX_BYTES:,} bytes",
                            found=f"{info.st_size:,}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        try:
            opened = os.fstat(fd)
            _check_regular(path, opened.st_mode)
            raw = _read_at_most(fd, MAX_BYTES + 1, opened.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _os_error(path, exc) from None
    if len(raw) > MAX_BYTES:  # grew since the stat, or a file whose size the stat does not tell
        raise LoadError("file-too-large", path, expected=f"at most {MAX_BYTES:,} bytes",
                        found=f"more than {MAX_BYTES:,}")
    if b"\x00" in raw:
        raise LoadError(
            "binary-file", path, expected="a UTF-8 YAML text file", found="binary data (NUL bytes)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(
            "binary-file",
            path,
            expected="a UTF-8 YAML text file",
            found=f"bytes that are not UTF-8 (at offset {exc.start})",
        ) from None


def load_document(path: str | Path, text: str | None = None) -> Document:
    path = Path(path)
    if text is None:
        text = read_text(path)
    if not text.strip():
        raise LoadError("empty-file", path, expected="a YAML mapping", found="an empty file")
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.error import YAMLError

    from .yamlevents import Builder
    from .yamlscalars import shared_reader

    builder = Builder(path, shared_reader())
    try:
        found, data = builder.build(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        context = ""
        if exc.context and exc.context_mark is not None and exc.problem_mark is not None:
            if exc.context_mark.line != exc.problem_mark.line:
                context = f" ({exc.context}, which starts at line {exc.context_mark.line + 1})"
        raise LoadError(
            "yaml-syntax", path, line=line, detail=f"the file is not valid YAML: {problem}{context}"
        ) from None
    except YAMLError as exc:  # ruamel raises unmarked errors for a few inputs
        raise LoadError(
            "yaml-syntax", path, detail=f"the file is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    if not found:
        raise LoadError("empty-file", path, expected="a YAML mapping", found="no document")
    from .yamlevents import lines_of

    return Document(str(path), data,
                    Later(lambda: lines_of(builder.records, builder.root_line)))


# What may stand before a block collection's first entry on its line: indentation,
# the indicators '- ', '? ', ': ', and anchors or tags.


__all__ = ["MAX_BYTES", "MAX_DEPTH", "Document", "Later", "dotted", "load_document", "read_text"]
