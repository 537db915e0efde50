"""A profile's data read in one call to yaml-rs (saphyr, in Rust), where it is sure to be
the data the full reader builds; None where it might not be.

The full reader (:mod:`engine.yamlevents`) builds data from libyaml's events in Python
and keeps the line of every value: the larger part of what a batch spends on a file it
has never seen. yaml-rs builds the data in about a quarter of the instructions, keeps no
lines, and reads a few corners of YAML otherwise. Lines are needed only for a problem,
and then the full reader reads the text again (:func:`engine.loader.load_profile`). So
the quick reader takes a text only where nothing in it reaches those corners:

* Before the parse, the text is looked over for what the two might read otherwise:
  characters libyaml refuses or breaks lines at, tabs, carriage returns, a byte-order mark
  or a backslash (``_odd_characters``); a directive, a document marker, a flow collection,
  what may be an anchor, an alias, a tag or a complex key, a block scalar's indentation
  indicator or no text, lists nested on one line, a last line with no line break,
  indentation that could nest near ``MAX_DEPTH`` (yaml-rs recurses: some 100,000 levels
  end the process) (``_odd_nodes``); and every plain scalar that is a whole line's value
  and starts like a number (``_LINE_VALUES``):
  it must be an integer or a decimal in the usual form, a date, a null, or text to both
  (``2017-2021``), not ``_3``, ``6E_9`` or ``.0e17`` (numbers to yaml-rs, text to YAML
  1.2), nor an integer longer than Python reads; past 64 tokens new to the process in
  one text, the full reader is sooner.
* yaml-rs makes a date (or a time) of any text in such a form, quoted or not, so it is
  asked for none, and the walk makes the dates: each text in a date's form must be one
  of the plain dates the look found, one for one (``_dates``), and none may stand where
  it could be anything but plain (after a quote, alone on a line).
* After the parse, the data is walked (``_agrees``): every key must be text that YAML 1.2
  would not read as another type (the full reader keeps ``2022:`` as text, yaml-rs makes
  it a number); every value of a type the full reader makes; every text that a plain
  scalar would make into another type must be one yaml-rs would type too, so that it was
  not plain (``'2026'``); nesting no deeper than ``MAX_DEPTH``.

``tests/test_yamlquick.py`` holds the two to the same data on generated texts, and
loads every test profile both ways.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from .yamlscalars import ScalarReader
from .yamlscalars import shared_reader
from .yamlsource import MAX_DEPTH

_Loads = Callable[..., Any]
rs_loads: _Loads | None
try:
    from yaml_rs import loads as rs_loads
except ImportError:  # a platform with no wheel: the full reader reads every file
    rs_loads = None

_STR = "tag:yaml.org,2002:str"

# The printable ASCII characters but the backslash, and the line feed: a text of only these
# needs no closer look at its characters
_PLAIN_ASCII = bytes(c for c in range(0x20, 0x7F) if c != ord("\\")) + b"\n"

# A line that starts a directive or a document, or lies deep enough to nest near MAX_DEPTH
_ODD_LINE = re.compile(rf"\n(?:%|---|\.\.\.|[ ]{{{MAX_DEPTH}}})")
_NESTED_LISTS = re.compile(r"-[ ]+-(?:[ ]|$)", re.M)
# A date in quotes: as text, it must not be taken for a plain one (``_dates``). One
# expression for each quote, as one that starts with a character class is tried at every
# position, while one that starts with a character is tried only where that stands.
_QUOTED_DATES = tuple((quote, re.compile(f"{quote}[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{quote}"))
                      for quote in "'\"")

# What may start a node other than a plain or quoted scalar or a block collection: a
# flow collection, an anchor, an alias, a tag, a complex key, a reserved indicator. A
# text holding none of these characters is not looked at further.
_INDICATORS = "[]{}&*!?@`|>"
_ODD_NODE = re.compile(
    r"[\[\]{}]"  # flow collections, anywhere (a note with brackets is left to the full reader)
    r"|(?:^|[ ])[&*!](?![ \n])"  # what may be an anchor, an alias or a tag
    r"|(?:^[ ]*|[:-][ ]+)[&*!?@`]"  # a node's start that is no scalar or block collection
    r"|(?:^[ ]*|[:-][ ]+)[|>](?![-+]?[ ]*$)"  # a block scalar's header with more than chomping
    # a block scalar whose next line is not indented text: yaml-rs keeps a line break
    # of an empty one at the end of the text, libyaml none
    r"|(?:^[ ]*|[:-][ ]+)[|>][-+]?[ ]*(?:\n(?![ ]+[^ \n])|\Z)",
    re.M,
)

# A plain scalar that is a whole line's value, after a key, after a list's dash, or alone
# on a line (the line feed is put before the text for its first line: an alternation with
# ``^`` would make the regular expression engine try every position)
_LINE_VALUES = tuple(
    (re.compile(start + r"([-+.0-9_~][^ \n]*)[ ]*(?:#[^\n]*)?(?=\n|\Z)"), start == r"\n *")
    for start in (r": +", r"- +", r"\n *"))

# The plain forms both readers type alike (dates aside: ``_dates``)
_AGREED = re.compile(
    r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"  # integers and decimals
    r"|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|"
).fullmatch
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
# Tokens of one text that ``_both_text`` may be asked about for the first time
_MOST_ASKED = 64

_DECLINED = object()  # what ``_parse`` gives for a text yaml-rs does not read

_TYPES = frozenset({str, int, float, bool, type(None)})


def quick_data(text: str, reader: ScalarReader | None = None) -> dict[str, Any] | None:
    """The data of ``text`` as the full reader would build it, or None where the quick
    reader cannot be sure (then the full reader must read it)."""
    if rs_loads is None:
        return None
    lined = "\n" + text  # every line starts after a line feed, the first one too
    if _odd_characters(text) or _odd_nodes(text, lined):
        return None
    reader = reader or shared_reader()
    plain_dates: list[str] = []
    longest_int = sys.get_int_max_str_digits() or 10**9  # asked each time: it may change
    asked = 0
    for pattern, alone in _LINE_VALUES:
        for token in pattern.findall(lined if alone else text):
            if len(token) > longest_int and "." not in token:
                return None  # too long for int() to read: the full reader refuses it
            if _DATE(token):
                if alone:  # a date on a line of its own: a block scalar's text, say
                    return None
                plain_dates.append(token)
            elif not _AGREED(token):
                both = _text_to_both.get(token)
                if both is None:
                    # asking both readers costs a parse: a text of many new tokens is
                    # read sooner by the full reader alone
                    asked += 1
                    if asked > _MOST_ASKED:
                        return None
                    both = _both_text(token, reader)
                if not both:
                    return None
    data = _parse(text)
    if type(data) is not dict:
        return None
    dates: list[tuple[Any, Any, str]] = []
    if not _agrees(data, reader, dates) or not _dates(dates, plain_dates):
        return None
    return data


def _odd_characters(text: str) -> bool:
    """Whether the text holds a character the two readers might take differently: a
    control character (libyaml refuses them), a tab or a carriage return, NEL and the
    Unicode line and paragraph separators (line breaks to libyaml), a byte-order mark
    (which libyaml drops), any space but the plain one; or a backslash, which could
    write a date in escapes (``_dates``)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PLAIN_ASCII))
    return "\\" in text or not text.replace("\n", "").isprintable()


def _odd_nodes(text: str, lined: str) -> bool:
    """Whether the text may hold a node the quick reader does not take (see the module's
    docstring), or a last line with no line break (yaml-rs gives a block scalar there one).

    Each expression is searched for only where the text holds what it needs, found by a
    plain search for a substring, which costs a tenth as much."""
    if not text.endswith("\n"):
        return True
    if ("%" in text or "---" in text or "..." in text or " " * MAX_DEPTH in text) \
            and _ODD_LINE.search(lined) is not None:
        return True
    if ("- -" in text or "-  " in text) and _NESTED_LISTS.search(text) is not None:
        return True
    for quote, pattern in _QUOTED_DATES:
        if quote in text and pattern.search(text) is not None:
            return True
    return any(c in text for c in _INDICATORS) and _ODD_NODE.search(text) is not None


_text_to_both: dict[str, bool] = {}


def _both_text(token: str, reader: ScalarReader) -> bool:
    """Whether both readers take the plain scalar ``token`` as text (``2017-2021``, ``12)``),
    asked of each; kept in ``_text_to_both`` for the first 10,000 tokens, which
    ``quick_data`` looks in first."""
    try:
        known = reader.tag_of(token, True) == _STR and type(_plain(token)) is str
    except Exception:  # not a scalar the full reader reads alone: left to it
        known = False
    if len(_text_to_both) < 10_000:
        _text_to_both[token] = known
    return known


def _dates(found: list[tuple[Any, Any, str]], plain: list[str]) -> bool:
    """Make a date of each text in a date's form, where each is one of the plain dates
    the look over the text found, one for one; False where they differ, or a date is
    none (a 30th of February: the full reader refuses it).

    Only a plain scalar of one line, a quoted one or a block scalar can be such a text
    in the data; quoted dates and dates alone on a line were refused before the parse,
    so with as many texts as plain dates, of the same dates, each text is one of them."""
    if Counter(text for _, _, text in found) != Counter(plain):
        return False
    for container, at, text in found:
        try:
            container[at] = dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            return False
    return True


# The texts, keys and values, found to be text to both readers: the same few hundred
# recur in every profile (field names, sources, confidences), so each is looked at once
_TEXT: set[str] = set()


def _agrees(data: dict[str, Any], reader: ScalarReader,
            dates: list[tuple[Any, Any, str]]) -> bool:
    """Whether the data yaml-rs built is what the full reader builds (see the module's
    docstring), texts in a date's form aside: those are listed in ``dates`` with where
    they stand.

    A walk with a stack of its own, not a recursion: a profile has some forty mappings."""
    text = _TEXT
    stack: list[tuple[Any, int]] = [(data, 1)]
    pop = stack.pop
    push = stack.append
    while stack:
        node, depth = pop()
        if type(node) is dict:
            if not text.issuperset(node):  # keys seen before: no loop in Python
                for key in node:
                    if key not in text and not _is_text(key, reader, False):
                        return False
            entries: Any = node.items()
        else:
            entries = enumerate(node)
        for at, value in entries:
            kind = type(value)
            if kind is str:
                if value not in text:
                    if _DATE(value):
                        dates.append((node, at, value))
                    elif not _is_text(value, reader, True):
                        return False
            elif kind is dict or kind is list:
                if depth == MAX_DEPTH:
                    return False
                push((value, depth + 1))
            elif kind not in _TYPES:
                return False
    return True


def _is_text(found: Any, reader: ScalarReader, quoted_may_be: bool) -> bool:
    """Whether a key or a value that yaml-rs made is what the full reader makes of it.

    A key must be text that no pattern of YAML 1.2 makes another type (the full reader
    keeps ``2022:`` as text, yaml-rs makes it a number). A value may also be text that
    such a pattern would type, if yaml-rs would type it too: then it was not a plain
    scalar (``period: '2026'``), and the full reader keeps it as text as well."""
    if type(found) is not str:
        return False
    if found[:1] in reader.typed and reader.tag_of(found, True) != _STR:
        if not (quoted_may_be and _typed_when_plain(found)):
            return False
    if len(_TEXT) < 10_000:
        _TEXT.add(found)
    return True


def _typed_when_plain(found: str) -> bool:
    """Whether yaml-rs makes something other than text of ``found`` as a plain scalar."""
    plain = _plain(found)
    return plain is not _DECLINED and type(plain) is not str


def _plain(text: str) -> Any:
    """What yaml-rs makes of ``text`` as a plain scalar (``_DECLINED`` if nothing)."""
    data = _parse(f"v: {text}\n")
    return data["v"] if type(data) is dict and "v" in data else _DECLINED


def _parse(text: str) -> Any:
    """yaml-rs's data of ``text``, or ``_DECLINED`` where it refuses the text: whatever
    the problem, the full reader reports it in its own words."""
    assert rs_loads is not None  # asked only where yaml-rs is installed
    try:
        return rs_loads(text, parse_datetime=False)
    except Exception:
        return _DECLINED
    except BaseException as exc:
        # a panic in yaml-rs's Rust code reaches Python as pyo3's PanicException, which
        # derives from BaseException so that ``except Exception`` lets it through
        if type(exc).__name__ == "PanicException":
            return _DECLINED
        raise
