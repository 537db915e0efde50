"""Lists of profile files that stay small at any size.

A batch names every file before it reads one (to choose the snapshots it ranks, to
count them for the progress bar, to cut them into chunks). As ``Path`` objects,
100,000 files took some 30 MB, and choosing among them as tuples as much again: a
batch's memory grew with its size however little each result kept. Here the names are
one string and their ends an array of integers, about the bytes of the names
themselves; a ``Path`` is made only when an item is read, a chunk at a time.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import overload

# names joined at a time while a list is built, so that no list of them all is held
_PIECE = 4096


class FileList(Sequence[Path]):
    """Paths in name order, kept as one string; a ``Sequence`` of ``Path``.

    Each path is a common prefix (a directory, or nothing) and a name. Name order keeps
    the snapshots of one country side by side (every file of ``india`` starts
    ``india@``), so choosing the latest of each is one pass."""

    __slots__ = ("_prefix", "_text", "_ends")

    def __init__(self, names: Iterable[str] = (), prefix: str = "") -> None:
        """``names`` already in name order, each path ``prefix + name`` (``of`` and
        ``in_directory`` sort)."""
        ends = array("q")
        pieces: list[str] = []
        piece: list[str] = []
        at = 0
        for name in names:
            piece.append(name)
            at += len(name)
            ends.append(at)
            if len(piece) == _PIECE:
                pieces.append("".join(piece))
                piece.clear()
        pieces.append("".join(piece))
        self._prefix = prefix
        self._text = "".join(pieces)
        self._ends = ends

    @classmethod
    def of(cls, paths: Iterable[str | os.PathLike[str]]) -> FileList:
        """Any paths, put in name order (ties by the whole path)."""
        texts = [os.fspath(p) for p in paths]
        texts.sort(key=lambda t: (os.path.basename(t), t))
        return cls(texts)

    @classmethod
    def in_directory(cls, directory: Path, names: list[str]) -> FileList:
        """Files of one directory by their names (sorted here, in place)."""
        names.sort()
        base = os.fspath(directory)
        # as ``directory / name`` spells it: no "./" before a name in the current directory
        return cls(names, "" if base == "." else os.path.join(base, ""))

    def names(self) -> Iterator[str]:
        """Each path without the common prefix: its name, for a list of one directory."""
        start, text = 0, self._text
        for end in self._ends:
            yield text[start:end]
            start = end

    def keep(self, names: Iterable[str]) -> FileList:
        """Some of these files, given by ``names()`` in the same order."""
        return FileList(names, self._prefix)

    def __len__(self) -> int:
        return len(self._ends)

    def _name(self, i: int) -> str:
        ends = self._ends
        return self._text[ends[i - 1] if i else 0:ends[i]]

    @overload
    def __getitem__(self, i: int) -> Path: ...

    @overload
    def __getitem__(self, i: slice) -> FileList: ...

    def __getitem__(self, i: int | slice) -> Path | FileList:
        if isinstance(i, slice):
            return self.keep(map(self._name, range(*i.indices(len(self)))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("FileList index out of range")
        return Path(self._prefix + self._name(i))

    def __iter__(self) -> Iterator[Path]:
        prefix = self._prefix
        return (Path(prefix + name) for name in self.names())

    def __repr__(self) -> str:
        return f"<FileList of {len(self)} paths>"
