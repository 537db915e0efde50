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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

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
    """YAML 1.2 resolution, with the per-scalar work done once per document kind.

    ruamel.yaml asks, for each scalar, which YAML version the document uses (with the C
    parser that question ends in two caught exceptions and always in the default, 1.2),
    merges the candidate patterns for the scalar's first character anew, and builds a new
    tag object. Together that was half the time spent loading a profile. The patterns and
    tags are ruamel's own; only the bookkeeping is cached.
    """

    @property
    def processing_version(self) -> Any:
        return (1, 2)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        if implicit[0]:
            for tag, regexp in self._candidates(value[:1]):
                if regexp.match(value):
                    return tag
        return self.DEFAULT_SCALAR_TAG

    def _candidates(self, first: str) -> list[tuple[Any, Any]]:
        try:
            cache = self._candidate_cache
        except AttributeError:
            cache = self._candidate_cache = {}
        found = cache.get(first)
        if found is None:
            table = self.versioned_resolver
            found = [(Tag(suffix=tag), regexp)
                     for tag, regexp in [*table.get(first, []), *table.get(None, [])]]
            cache[first] = found
        return found


def _yaml() -> YAML:
    # the C parser (ruamel.yaml.clib) when installed: seven times faster, same marks
    y = YAML(typ="safe")
    y.Resolver = _Resolver
    y.allow_duplicate_keys = True  # we report duplicates ourselves, with both lines
    return y


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
    y = _yaml()
    try:
        # an alias needs '*', deep nesting many brackets or much indentation: text
        # with neither is spared the second parse
        if "*" in text or _depth_bound(text) > MAX_DEPTH:
            _check_events(path, y, text)
        root = y.compose(text)
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
    except YAMLError as exc:  # ruamel's composer raises unmarked errors for a few inputs
        raise LoadError(
            "yaml-syntax", path, detail=f"the file is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    if root is None:
        raise LoadError("empty-file", path, expected="a YAML mapping", found="no document")
    builder = _Builder(path, y)
    data = builder.build(root, ())
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


def _check_events(path: Path, y: YAML, text: str) -> None:
    # Checked on the event stream, before any node exists: an alias bomb is refused at its
    # first alias, deep nesting at its first level too many, each with its line. The parse
    # stops there, so the parser's cost for deep nesting is never paid.
    depth = 0
    for event in y.parse(text):
        if isinstance(event, AliasEvent):
            raise LoadError(
                "yaml-alias", path, line=event.start_mark.line + 1,
                detail=f"the alias *{event.anchor} reuses an anchored value",
                hint="write the value out; anchors and aliases are not accepted in latticework files",
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise LoadError(
                    "yaml-too-deep", path, line=event.start_mark.line + 1,
                    expected=f"lists and mappings nested at most {MAX_DEPTH} deep",
                    found=f"a {'list' if isinstance(event, SequenceStartEvent) else 'mapping'} "
                    f"at depth {depth}",
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


class _Builder:
    def __init__(self, path: Path, y: YAML) -> None:
        self.path = path
        self.constructor = y.constructor
        self.lines: dict[Path_, int] = {}

    def fail(self, code: str, node: Node, **kw: Any) -> LoadError:
        return LoadError(code, self.path, line=node.start_mark.line + 1, **kw)

    def build(self, node: Node, at: Path_) -> Any:
        self.lines[at] = node.start_mark.line + 1
        # ruamel rebuilds a node's tag text on every read of .tag: read it once per node
        tag = node.tag
        if isinstance(node, MappingNode):
            if tag != _MAP:
                raise self._tag_error(node, at)
            out: dict[str, Any] = {}
            key_lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key_tag = key_node.tag
                if not isinstance(key_node, ScalarNode) or key_tag not in _SCALAR_TAGS:
                    raise self.fail(
                        "yaml-key", key_node, expected="a plain key", found="a complex key"
                    )
                key = self._scalar(key_node, at, key_tag)
                if not isinstance(key, str):
                    # keys like 2022 or true are kept as text; the schema decides what they mean
                    key = key_node.value
                if key in key_lines:
                    raise self.fail(
                        "duplicate-key",
                        key_node,
                        field=dotted(at + (key,)),
                        detail=f"the key appears twice (first at line {key_lines[key]})",
                    )
                key_lines[key] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, at + (key,))
                self.lines[at + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, SequenceNode):
            if tag != _SEQ:
                raise self._tag_error(node, at)
            return [self.build(item, at + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node, at, tag)

    def _check_tag(self, node: Node, tag: str, at: Path_) -> None:
        if node.tag != tag:
            raise self._tag_error(node, at)

    def _tag_error(self, node: Node, at: Path_) -> LoadError:
        return self.fail(
            "yaml-tag",
            node,
            field=dotted(at) or None,
            expected="plain YAML values (no tags)",
            found=f"the tag '{node.tag}'",
            hint="tags that build objects are never accepted",
        )

    def _scalar(self, node: ScalarNode, at: Path_, tag: str) -> Any:
        if tag == _STR:
            return node.value  # most scalars are text: the constructor would return it as is
        if tag not in _SCALAR_TAGS:
            raise self._tag_error(node, at)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError) as exc:
            raise self.fail(
                "yaml-value", node, field=dotted(at) or None, detail=" ".join(str(exc).split())
            ) from None
        except (KeyError, IndexError):
            # ruamel looks '!!bool abc' up in its table of booleans (KeyError) and reads
            # the first character of an empty '!!int' (IndexError)
            from .render import safe_text  # explain imports the rules, which import this

            name = node.tag.removeprefix(_TAG)
            shown = safe_text(node.value if len(node.value) <= 60 else node.value[:57] + "...")
            raise self.fail(
                "yaml-value", node, field=dotted(at) or None,
                expected=f"a value the tag !!{name} accepts", found=f"the text '{shown}'",
            ) from None
        return value


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
