"""Plain data and the line of every value, from libyaml's events in one pass.

The parser objects are built once per process and reused; every check a document
needs (aliases, depth, tags, complex and duplicate keys) is made as its events pass.
:mod:`engine.yamlsource` reads the file and hands the text here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from typing import NoReturn

from ruamel.yaml.composer import ComposerError
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode

from .errors import LoadError
from .yamlscalars import Kinds
from .yamlscalars import ScalarReader
from .yamlsource import MAX_DEPTH
from .yamlsource import Path_
from .yamlsource import dotted

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STR = f"{_TAG}str"
_MAP = f"{_TAG}map"
_SEQ = f"{_TAG}seq"

_MISSING = object()  # not cached (None is a cached value: null)


def _date(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))


# The plain forms nearly every number and date of a profile takes, built directly: through
# ruamel's constructor (a node, its tag object, the method for the tag) each cost some 30
# microseconds, a few per file. Any other form, and any of these Python refuses (a 30th of
# February), goes to ruamel, whose words the error keeps.
_SIMPLE: dict[str, tuple[Callable[[str], Any], Callable[[str], Any]]] = {
    f"{_TAG}int": (re.compile(r"[-+]?(?:0|[1-9][0-9]*)").fullmatch, int),
    f"{_TAG}float": (re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+").fullmatch, float),
    f"{_TAG}timestamp": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch, _date),
}


class Builder:
    """Plain data and the line of every path, built from libyaml's events in one pass.

    Every check is made on the way: an alias is refused at the alias (an alias bomb
    costs nothing to write and an exponential amount to walk), nesting at its first
    level too many (libyaml takes time quadratic in the depth), a tag, a complex key or
    a duplicate key where it stands. No node tree is built: ruamel's composer made
    one Python object per value and resolved each tag through several layers, twice
    the time of the parse itself.
    """

    def __init__(self, path: Path, reader: ScalarReader) -> None:
        self.path = path
        self.reader = reader
        # the line of every path, kept as the parse gives it: for each mapping or list, its
        # path and the line of each key or item (``lines_of`` makes the paths)
        self.records: list[tuple[Path_, Any]] = []
        self.root_line = 0

    def fail(self, code: str, event: Any, **kw: Any) -> LoadError:
        return LoadError(code, self.path, line=event.start_mark.line + 1, **kw)

    def build(self, text: str) -> tuple[bool, Any]:
        """(whether the text holds a document, its data).

        Read by PyYAML's parser where it may, and by ruamel's otherwise and wherever
        PyYAML's met a problem: every problem is reported as ruamel's libyaml sees it.
        """
        fast = self.reader.open_fast(text)
        if fast is not None:
            try:
                return self._build(*fast)
            except Exception:  # read again, for ruamel's own words about the problem
                self.records.clear()
        return self._build(*self.reader.open(text))

    def _build(self, events: Iterator[Any], dispose: Callable[[], None] | None,
               kinds: Kinds) -> tuple[bool, Any]:
        """(whether the events hold a document, its data).

        The problems are reported in the order the composer reported them: an alias or
        nesting too deep first, as it stops the parse; then a syntax error anywhere;
        then the first problem of values (a tag, a key). So after a problem of values
        the events are still read to the end (``_drain``), but nothing more is built.
        """
        # Hundreds of events per file: the state of the collection being read is kept in
        # locals (its value, whether a mapping, its path, the key waiting for its value,
        # the line of each key so far), saved on ``stack`` while a child is read.
        records = self.records
        reader = self.reader
        typed = reader.typed
        plain_tags = reader.plain_tags
        constructed = reader.constructed
        stack: list[tuple[Any, bool, Path_, Any, Any]] = []
        cur: Any = None  # None at the top, before and after the document's one value
        is_map = False
        at: Path_ = ()
        key: Any = None
        key_lines: Any = {}  # a mapping's line of each key; a list's line of each item
        anchors: dict[str, Any] = {}
        root: Any = None
        found = False
        document_start: Any = None
        depth = 0
        problem: LoadError | None = None
        ScalarEvent, MappingStartEvent, MappingEndEvent, SequenceStartEvent, \
            SequenceEndEvent, AliasEvent, DocumentStartEvent = kinds
        try:
            for event in events:
                kind = type(event)
                if kind is ScalarEvent:
                    if event.anchor is not None:
                        self._anchor(event, anchors)
                    value = event.value
                    if cur is None:  # the document is this one scalar
                        document_start = event.start_mark
                        self.root_line = event.start_mark.line + 1
                        if event.tag is not None or event.implicit[0]:
                            try:
                                value = self._scalar(event, ())
                            except LoadError as exc:
                                problem = exc
                                break
                        root, found = value, True
                        continue
                    # text: quoted, or plain that no pattern makes something else (by its
                    # first character, or as found the last time it was seen)
                    is_text = event.tag is None and (
                        not event.implicit[0] or value[:1] not in typed
                        or plain_tags.get(value) == _STR)
                    if is_map and key is None:  # a key: text seen first, or checked
                        if is_text and value not in key_lines:
                            key_lines[value] = event.start_mark.line + 1
                            key = value
                            continue
                        try:
                            key = self._key(event, at, key_lines)
                        except LoadError as exc:
                            problem = exc
                            break
                        continue
                    if not is_text:  # a value of another type: the same few recur, built
                        tag = plain_tags.get(value) if event.tag is None else None
                        hit = constructed.get((tag, value), _MISSING) if tag else _MISSING
                        if hit is not _MISSING:
                            value = hit
                        else:
                            try:
                                value = self._scalar(
                                    event, at + ((key,) if is_map else (len(cur),)))
                            except LoadError as exc:
                                problem = exc
                                break
                    if is_map:
                        cur[key] = value
                        key = None
                    else:
                        key_lines.append(event.start_mark.line + 1)
                        cur.append(value)
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    if event.anchor is not None:
                        self._anchor(event, anchors)
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self._too_deep(event, depth, kind is SequenceStartEvent)
                    try:
                        if cur is None:
                            document_start = event.start_mark
                            child: Path_ = ()
                            self.root_line = event.start_mark.line + 1
                        elif is_map:
                            if key is None:
                                raise self.fail("yaml-key", event, expected="a plain key",
                                                found="a complex key")
                            child = at + (key,)
                        else:
                            child = at + (len(cur),)
                        child_is_map = kind is MappingStartEvent
                        if event.tag is not None:
                            tag = event.tag
                            if tag != "!" and tag != (_MAP if child_is_map else _SEQ):
                                raise self._tag_error(event, tag, child)
                    except LoadError as exc:
                        problem = exc
                        break
                    if not is_map and cur is not None:
                        key_lines.append(event.start_mark.line + 1)
                    stack.append((cur, is_map, at, key, key_lines))
                    cur = {} if child_is_map else []
                    is_map = child_is_map
                    at = child
                    key = None
                    key_lines = {} if child_is_map else []
                    records.append((child, key_lines))
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    depth -= 1
                    value = cur
                    cur, is_map, at, key, key_lines = stack.pop()
                    if cur is None:
                        root, found = value, True
                    elif is_map:
                        cur[key] = value
                        key = None
                    else:
                        cur.append(value)
                elif kind is AliasEvent:
                    raise self._alias(event)
                elif kind is DocumentStartEvent and document_start is not None:
                    raise self._second_document(event, document_start)
                # else: the stream's and the document's start and end
            if problem is not None:
                self._drain(events, kinds, problem, anchors, depth, document_start)
        finally:
            if dispose is not None:
                dispose()
        return found, root

    def _drain(self, events: Iterator[Any], kinds: Kinds, problem: LoadError,
               anchors: dict[str, Any], depth: int, document_start: Any) -> NoReturn:
        """After a problem of values: the rest of the events, for the problems that come
        before it (an alias, nesting too deep, another document, a syntax error)."""
        ScalarEvent, MappingStartEvent, MappingEndEvent, SequenceStartEvent, \
            SequenceEndEvent, AliasEvent, DocumentStartEvent = kinds
        for event in events:
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None:
                    self._anchor(event, anchors)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None:
                    self._anchor(event, anchors)
                depth += 1
                if depth > MAX_DEPTH:
                    raise self._too_deep(event, depth, kind is SequenceStartEvent)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                depth -= 1
            elif kind is AliasEvent:
                raise self._alias(event)
            elif kind is DocumentStartEvent and document_start is not None:
                raise self._second_document(event, document_start)
        raise problem

    def _too_deep(self, event: Any, depth: int, is_list: bool) -> LoadError:
        kind = "list" if is_list else "mapping"
        return self.fail("yaml-too-deep", event,
                         expected=f"lists and mappings nested at most {MAX_DEPTH} deep",
                         found=f"a {kind} at depth {depth}")

    def _alias(self, event: Any) -> LoadError:
        return self.fail(
            "yaml-alias", event,
            detail=f"the alias *{event.anchor} reuses an anchored value",
            hint="write the value out; anchors and aliases are not accepted in "
            "latticework files",
        )

    @staticmethod
    def _second_document(event: Any, document_start: Any) -> ComposerError:
        return ComposerError("expected a single document in the stream", document_start,
                             "but found another document", event.start_mark)

    def _anchor(self, event: Any, anchors: dict[str, Any]) -> None:
        # an anchor alone is harmless; the composer refused only the same one twice
        if event.anchor in anchors:
            raise ComposerError("found duplicate anchor; first occurrence",
                                anchors[event.anchor], "second occurrence", event.start_mark)
        anchors[event.anchor] = event.start_mark

    def _key(self, event: Any, at: Path_, key_lines: dict[Any, int]) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.reader.tag_of(event.value, event.implicit[0])
        if tag not in _SCALAR_TAGS:
            raise self.fail("yaml-key", event, expected="a plain key", found="a complex key")
        key = event.value
        if tag != _STR:
            # constructed only to refuse what its tag does not accept ('!!int abc'): keys
            # like 2022 or true are kept as text, and the schema decides what they mean
            self._construct(event, tag, at)
        line = event.start_mark.line + 1
        if key in key_lines:
            raise self.fail(
                "duplicate-key", event, field=dotted(at + (key,)),
                detail=f"the key appears twice (first at line {key_lines[key]})",
            )
        key_lines[key] = line
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
        simple = _SIMPLE.get(tag)
        if simple is not None and simple[0](value):
            try:
                result = simple[1](value)
            except ValueError:
                pass  # ruamel says what is wrong with it
            else:
                if len(constructed) < 10_000:
                    constructed[key] = result
                return result
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


def lines_of(records: list[tuple[Path_, Any]], root_line: int) -> dict[Path_, int]:
    """The line of every path, from a Builder's records."""
    lines: dict[Path_, int] = {(): root_line}
    for at, entries in records:
        if type(entries) is dict:
            for key, line in entries.items():
                lines[at + (key,)] = line
        else:
            for index, line in enumerate(entries):
                lines[at + (index,)] = line
    return lines
