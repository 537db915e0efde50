"""Plain scalars, resolved and constructed the way YAML 1.2 reads them, with the parser
objects built once per process and the answers for recurring values cached (bounded):
the same few keys and values recur in every profile.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Container
from collections.abc import Iterator
from typing import Any
from typing import ClassVar

from ruamel.yaml import YAML
from ruamel.yaml import events as _exact_events
from ruamel.yaml.resolver import VersionedResolver

try:
    from _ruamel_yaml import CParser as _CParser
except ImportError:  # without ruamel.yaml.clib: its pure-Python parser, same events
    _CParser = None

# PyYAML's binding of libyaml builds each event through one Python constructor where
# ruamel's goes through three: a fifth less time for the events. But it carries a newer libyaml
# (0.2.x; ruamel's is 0.1.7) that reads a few corners of YAML otherwise: ':' and '?' in
# plain scalars inside flow collections, a tag followed by a flow indicator, a directive
# after a document. So it reads only the texts with no flow collection, tag or directive
# (no profile has one), and whatever problem it meets is reported by ruamel's, as before.
_FAST_REFUSES = ("[", "{", "!", "\n%")

# the classes of the events a parser makes, in the order Builder reads them
Kinds = tuple[type, type, type, type, type, type, type]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STR = f"{_TAG}str"
_MAP = f"{_TAG}map"
_SEQ = f"{_TAG}seq"


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


class ScalarReader:
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
        self.exact_kinds: Kinds = _kinds(_exact_events)
        self.fast_parser, self.fast_kinds = _fast()
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

    def open(self, text: str) -> tuple[Iterator[Any], Callable[[], None] | None, Kinds]:
        """The events of ``text`` as ruamel's libyaml reads it, what frees the parser once
        they are read, and the classes of the events.

        With the C parser, the events are pulled by ``iter`` straight from
        ``get_event`` (None after the stream's end), not through a generator.
        """
        if self.pure:
            return self.events(text), None, self.exact_kinds
        parser = self.parser(text)
        return iter(parser.get_event, None), parser.dispose, self.exact_kinds

    def open_fast(self, text: str) -> tuple[Iterator[Any], Callable[[], None], Kinds] | None:
        """As ``open``, from PyYAML's faster parser; None where it might read ``text``
        otherwise than ruamel's (or is not installed)."""
        if self.fast_kinds is None or text[:1] == "%":
            return None
        for mark in _FAST_REFUSES:
            if mark in text:
                return None
        parser = self.fast_parser(text)
        return iter(parser.get_event, None), parser.dispose, self.fast_kinds

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


def _fast() -> tuple[Any, Kinds | None]:
    """PyYAML's C parser and the classes of its events, imported on the first parse."""
    try:
        import yaml.events  # type: ignore[import-untyped]
        from yaml._yaml import CParser  # type: ignore[import-untyped]
    except ImportError:  # without PyYAML, or a PyYAML without libyaml: ruamel's alone
        return None, None
    return CParser, _kinds(yaml.events)


def _kinds(module: Any) -> Kinds:
    return (module.ScalarEvent, module.MappingStartEvent, module.MappingEndEvent,
            module.SequenceStartEvent, module.SequenceEndEvent, module.AliasEvent,
            module.DocumentStartEvent)


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


_reader: ScalarReader | None = None


def shared_reader() -> ScalarReader:
    global _reader
    if _reader is None:
        _reader = ScalarReader()
    return _reader


