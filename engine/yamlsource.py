"""Reading YAML files as plain data, with the line of every value.

ruamel.yaml parses and resolves scalars; this module adds the project's policy:
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
import re
import stat
from collections.abc import Callable
from collections.abc import Container
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import ClassVar

from ruamel.yaml import YAML
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.events import DocumentStartEvent
from ruamel.yaml.events import MappingEndEvent
from ruamel.yaml.events import MappingStartEvent
from ruamel.yaml.events import ScalarEvent
from ruamel.yaml.events import SequenceEndEvent
from ruamel.yaml.events import SequenceStartEvent
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

try:
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # without ruamel.yaml.clib: its pure-Python parser, same events
    _CParser = None

from .errors import LoadError

MAX_BYTES = 1_000_000
# Far deeper than any profile or rule file needs (a rule's conditions are refused well
# before), far shallower than what breaks the parser: libyaml takes time quadratic in the
# depth (50,000 levels: 10 s), its composer recurses in C (segfault at 50,000) and the
# node walk here in Python (RecursionError at about 1,000).
MAX_DEPTH = 100

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STR = f"{_TAG}str"
_MAP = f"{_TAG}map"
_SEQ = f"{_TAG}seq"

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed file: its data and the line (1-based) where each path starts."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path`` or, when it is absent, of its nearest present parent."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


class _Resolver(VersionedResolver):
    """YAML 1.2 resolution, with the per-scalar work done once per process.

    ruamel.yaml asks, for each scalar, which YAML version the document uses (with the C
    parser that question ends in two caught exceptions and always in the default, 1.2),
    merges the candidate patterns for the scalar's first character anew, and builds a new
    tag object. The patterns and tags are ruamel's own; only the bookkeeping is cached.
    """

    _candidate_cache: ClassVar[dict[str, list[tuple[str, Any]]]] = {}

    @property
    def processing_version(self) -> Any:
        return (1, 2)

    def candidates(self, first: str) -> list[tuple[str, Any]]:
        """(tag, match) for each pattern a plain scalar starting with ``first`` may match."""
        found = self._candidate_cache.get(first)
        if found is None:
            table = self.versioned_resolver
            # ruamel wraps its patterns in a lazy proxy that costs a lookup per use
            found = [(str(tag), regexp.match)
                     for tag, regexp in [*table.get(first, []), *table.get(None, [])]]
            self._candidate_cache[first] = found
        return found


class _Reader:
    """What every parse shares, built once: the resolver's patterns and a constructor for
    the scalars that are not text. libyaml's parser takes its text when it is made, so
    that one object is made per file; it costs a few microseconds."""

    def __init__(self) -> None:
        # the C parser (ruamel.yaml.clib) when installed: seven times faster, same marks
        y = YAML(typ="safe")
        y.Resolver = _Resolver
        # ruamel's loader of an empty text: its resolver answers which tag a plain scalar
        # has, its constructor builds the scalars that are not text; nothing else is used
        loader, _ = y.get_constructor_parser("")
        self.candidates = loader.candidates
        self.construct = loader.construct_non_recursive_object
        self.parser: Any = y.Parser
        self.pure = y.Parser is not _CParser
        # the scalars that are not text are immutable (numbers, dates, booleans, null)
        # and the same few recur in every file: 2022, true, 0.0
        self.constructed: dict[tuple[str, str], Any] = {}
        self.plain_tags: dict[str, str] = {}
        # the first characters a plain scalar may have for a pattern to make it other than
        # text (digits, signs, 't' of true, ...): any other plain scalar is text, unlooked-at
        table = loader.versioned_resolver
        self.typed: Container[str] = (
            _Everything() if table.get(None) else
            frozenset(first for first in table if first is not None and self.candidates(first)))

    def events(self, text: str) -> Iterator[Any]:
        if self.pure:
            yield from YAML(typ="safe", pure=True).parse(text)
            return
        parser = self.parser(text)
        try:
            while parser.check_event():
                yield parser.get_event()
        finally:
            parser.dispose()

    def open(self, text: str) -> tuple[Iterator[Any], Callable[[], None] | None]:
        """The events of ``text``, and what frees the parser once they are read.

        With the C parser, the events are pulled by ``iter`` straight from
        ``get_event`` (None after the stream's end), not through a generator.
        """
        if self.pure:
            return self.events(text), None
        parser = self.parser(text)
        return iter(parser.get_event, None), parser.dispose

    def tag_of(self, value: str, plain: bool) -> str:
        if not plain:
            return _STR
        # the same few plain scalars recur in every file (keys such as 'note' or 'tier'
        # start like null or true and are tried against those patterns): each is tried once
        tag = self.plain_tags.get(value)
        if tag is None:
            tag = next((tag for tag, match in self.candidates(value[:1]) if match(value)), _STR)
            if len(self.plain_tags) < 10_000:  # bounded, as ``constructed``
                self.plain_tags[value] = tag
        return tag


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


_reader: _Reader | None = None


def _shared() -> _Reader:
    global _reader
    if _reader is None:
        _reader = _Reader()
    return _reader


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


def read_text(path: Path) -> str:
    """The text of a regular file of at most ``MAX_BYTES`` bytes, read no further than that.

    The file's type is checked before it is opened (opening a FIFO waits for a writer,
    reading /dev/zero never ends) and again on the open file, which was opened without
    waiting, in case the name was replaced in between.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        _check_regular(path, info.st_mode)
        if info.st_size > MAX_BYTES:
            raise LoadError("file-too-large", path, expected=f"at most {MAX_BYTES:,} bytes",
                            found=f"{info.st_size:,}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_regular(path, os.fstat(fd).st_mode)
            raw = fh.read(MAX_BYTES + 1)
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
    builder = _Builder(path, _shared())
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
    return Document(str(path), data, builder.lines)


# What may stand before a block collection's first entry on its line: indentation,
# the indicators '- ', '? ', ': ', and anchors or tags.
_BLOCK_PREFIX = re.compile(r"^(?:[ \t?:-]|[&!]\S*)*", re.MULTILINE)


def _depth_bound(text: str) -> int:
    """At least the nesting depth of ``text``, read from the text alone in linear time.

    A flow collection opens with a bracket (and ``[a: b]`` holds a mapping without
    one); a nested block collection starts further right than its parent, but for a
    sequence that is a mapping's value, so two block levels at most share a column,
    and each starts after only indentation, indicators and properties on its line.
    """
    widest = max(map(len, _BLOCK_PREFIX.findall(text)), default=0)
    return 2 * (text.count("[") + text.count("{")) + 2 * (widest + 1)


class _Open:
    """A mapping or list being read: its value, path, and for a mapping the key waiting
    for its value and the line of each key so far."""

    __slots__ = ("at", "is_map", "key", "key_lines", "value")

    def __init__(self, value: Any, at: Path_, is_map: bool) -> None:
        self.value = value
        self.at = at
        self.is_map = is_map
        self.key: str | None = None
        self.key_lines: dict[str, int] = {}


class _Builder:
    """Plain data and the line of every path, built from libyaml's events in one pass.

    Every check is made on the way: an alias is refused at the alias (an alias bomb
    costs nothing to write and an exponential amount to walk), nesting at its first
    level too many (libyaml takes time quadratic in the depth), a tag, a complex key or
    a duplicate key where it stands. No node tree is built: ruamel's composer made
    one Python object per value and resolved each tag through several layers, twice
    the time of the parse itself.
    """

    def __init__(self, path: Path, reader: _Reader) -> None:
        self.path = path
        self.reader = reader
        self.lines: dict[Path_, int] = {}

    def fail(self, code: str, event: Any, **kw: Any) -> LoadError:
        return LoadError(code, self.path, line=event.start_mark.line + 1, **kw)

    def build(self, text: str) -> tuple[bool, Any]:
        """(whether the text holds a document, its data).

        The problems are reported in the order the composer reported them: an alias or
        nesting too deep first, as it stops the parse; then a syntax error anywhere;
        then the first problem of values (a tag, a key). So after a problem of values
        the events are still read to the end, but nothing more is built.
        """
        lines = self.lines
        typed = self.reader.typed
        stack: list[_Open] = []
        parent: _Open | None = None
        anchors: dict[str, Any] = {}
        root: Any = None
        found = False
        document_start: Any = None
        depth = 0
        problem: LoadError | None = None
        # ``ctag`` is what ruamel's ``tag`` property turns into text: None exactly when
        # the event has no tag, read without the property's call
        events, dispose = self.reader.open(text)
        try:
            for event in events:
                kind = type(event)
                if kind is ScalarEvent:
                    if document_start is None:
                        document_start = event.start_mark
                    if event.anchor is not None:
                        self._anchor(event, anchors)
                    if problem is not None:
                        continue
                    text_value = event.value
                    # text: quoted, or plain that no pattern can make something else
                    is_text = event.ctag is None and not (
                        event.implicit[0] and text_value[:1] in typed)
                    if parent is not None and parent.is_map and parent.key is None:
                        if is_text and text_value not in parent.key_lines:
                            key = text_value
                        else:
                            try:
                                key = self._key(event, parent)
                            except LoadError as exc:
                                problem = exc
                                continue
                        parent.key_lines[key] = event.start_mark.line + 1
                        parent.key = key
                        continue
                    if is_text:
                        value = text_value
                    else:
                        try:
                            value = self._scalar(event, self._at(event, parent))
                        except LoadError as exc:
                            problem = exc
                            continue
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    if document_start is None:
                        document_start = event.start_mark
                    if event.anchor is not None:
                        self._anchor(event, anchors)
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self.fail(
                            "yaml-too-deep", event,
                            expected=f"lists and mappings nested at most {MAX_DEPTH} deep",
                            found=f"a {'list' if kind is SequenceStartEvent else 'mapping'} "
                            f"at depth {depth}",
                        )
                    if problem is not None:
                        continue
                    try:
                        if parent is not None and parent.is_map and parent.key is None:
                            raise self.fail("yaml-key", event, expected="a plain key",
                                            found="a complex key")
                        at = self._at(event, parent)
                        tag = event.tag
                        is_map = kind is MappingStartEvent
                        if tag is not None and tag != "!" and tag != (_MAP if is_map else _SEQ):
                            raise self._tag_error(event, tag, at)
                    except LoadError as exc:
                        problem = exc
                        continue
                    parent = _Open({} if is_map else [], at, is_map)
                    stack.append(parent)
                    continue
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    depth -= 1
                    if problem is not None:
                        continue
                    value = stack.pop().value
                    parent = stack[-1] if stack else None
                elif kind is AliasEvent:
                    raise self.fail(
                        "yaml-alias", event,
                        detail=f"the alias *{event.anchor} reuses an anchored value",
                        hint="write the value out; anchors and aliases are not accepted in "
                        "latticework files",
                    )
                elif kind is DocumentStartEvent and document_start is not None:
                    raise ComposerError("expected a single document in the stream",
                                        document_start, "but found another document",
                                        event.start_mark)
                else:
                    continue  # the stream's and the document's start and end
                # a whole value, read: it goes to its parent (a scalar's line is noted here,
                # a collection's where it started)
                if parent is None:
                    root, found = value, True
                    if kind is ScalarEvent:
                        lines[()] = event.start_mark.line + 1
                elif parent.is_map:
                    key = parent.key
                    assert key is not None  # a mapping's value comes after its key
                    parent.value[key] = value
                    if kind is ScalarEvent:
                        lines[parent.at + (key,)] = parent.key_lines[key]
                    parent.key = None
                else:
                    if kind is ScalarEvent:
                        lines[parent.at + (len(parent.value),)] = event.start_mark.line + 1
                    parent.value.append(value)
        finally:
            if dispose is not None:
                dispose()
        if problem is not None:
            raise problem
        return found, root

    def _at(self, event: Any, parent: _Open | None) -> Path_:
        """The path of a value that starts, its line noted."""
        if parent is None:
            at: Path_ = ()
            self.lines[at] = event.start_mark.line + 1
        elif parent.is_map:
            assert parent.key is not None  # a mapping's value comes after its key
            at = parent.at + (parent.key,)
            self.lines[at] = parent.key_lines[parent.key]
        else:
            at = parent.at + (len(parent.value),)
            self.lines[at] = event.start_mark.line + 1
        return at

    def _anchor(self, event: Any, anchors: dict[str, Any]) -> None:
        # an anchor alone is harmless; the composer refused only the same one twice
        if event.anchor in anchors:
            raise ComposerError("found duplicate anchor; first occurrence",
                                anchors[event.anchor], "second occurrence", event.start_mark)
        anchors[event.anchor] = event.start_mark

    def _key(self, event: Any, parent: _Open) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.reader.tag_of(event.value, event.implicit[0])
        if tag not in _SCALAR_TAGS:
            raise self.fail("yaml-key", event, expected="a plain key", found="a complex key")
        key = event.value
        if tag != _STR:
            # constructed only to refuse what its tag does not accept ('!!int abc'): keys
            # like 2022 or true are kept as text, and the schema decides what they mean
            self._construct(event, tag, parent.at)
        line = event.start_mark.line + 1
        if key in parent.key_lines:
            raise self.fail(
                "duplicate-key", event, field=dotted(parent.at + (key,)),
                detail=f"the key appears twice (first at line {parent.key_lines[key]})",
            )
        parent.key_lines[key] = line
        return key

    def _scalar(self, event: Any, at: Path_) -> Any:
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            tag = self.reader.tag_of(value, event.implicit[0])
        if tag == _STR:
            return value  # most scalars are text: the constructor would return it as is
        if tag not in _SCALAR_TAGS:
            raise self._tag_error(event, tag, at)
        return self._construct(event, tag, at)

    def _construct(self, event: Any, tag: str, at: Path_) -> Any:
        value = event.value
        constructed = self.reader.constructed
        key = (tag, value)
        if key in constructed:
            return constructed[key]
        node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            result = self.reader.construct(node)
        except (YAMLError, ValueError) as exc:
            raise self.fail(
                "yaml-value", event, field=dotted(at) or None, detail=" ".join(str(exc).split())
            ) from None
        except (KeyError, IndexError):
            # ruamel looks '!!bool abc' up in its table of booleans (KeyError) and reads
            # the first character of an empty '!!int' (IndexError)
            # explain imports the rules, which import this module
            from .render import safe_text

            name = tag.removeprefix(_TAG)
            shown = safe_text(value if len(value) <= 60 else value[:57] + "...")
            raise self.fail(
                "yaml-value", event, field=dotted(at) or None,
                expected=f"a value the tag !!{name} accepts", found=f"the text '{shown}'",
            ) from None
        if len(constructed) < 10_000:  # bounded: a file of distinct numbers adds nothing
            constructed[key] = result
        return result

    def _tag_error(self, event: Any, tag: str, at: Path_) -> LoadError:
        return self.fail(
            "yaml-tag",
            event,
            field=dotted(at) or None,
            expected="plain YAML values (no tags)",
            found=f"the tag '{tag}'",
            hint="tags that build objects are never accepted",
        )


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
