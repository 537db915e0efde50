"""Plain data and the line of every value, from libyaml's events in one pass.

The parser objects are built once per process and reused; every check a document
needs (aliases, depth, tags, complex and duplicate keys) is made as its events pass.
:mod:`engine.yamlsource` reads the file and hands the text here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.composer import ComposerError
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.events import DocumentStartEvent
from ruamel.yaml.events import MappingEndEvent
from ruamel.yaml.events import MappingStartEvent
from ruamel.yaml.events import ScalarEvent
from ruamel.yaml.events import SequenceEndEvent
from ruamel.yaml.events import SequenceStartEvent
from ruamel.yaml.nodes import ScalarNode

try:
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # without ruamel.yaml.clib: its pure-Python parser, same events
    _CParser = None

from .errors import LoadError
from .yamlscalars import ScalarReader

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
