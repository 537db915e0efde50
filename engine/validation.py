"""Checking a YAML document against a pydantic model, shared by every loader.

Profiles, rule files, the model, the catalog, calibration and import mappings are
all read the same way: a document with the line of every value, validated against
a strict model, each problem turned into a :class:`~engine.errors.LoadError` that
names the file, the line, the field, what was expected and what was found.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError

from .errors import LoadError
from .errors import LoadErrors
from .fields import field_specs
from .fields import optional_inner
from .fields import suggest
from .yamlsource import Document


def describe_found(value: Any) -> str:
    """A found value as a user wrote it in YAML, shortened, its control characters
    shown as escapes (a message goes to a terminal)."""
    from .render import safe_text  # explain imports the rules, which import this module

    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the text '{safe_text(shown)}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


_PLAIN_KEY = re.compile(r"[\w.\-\[\]]{1,60}")
_KEY_HEAD = re.compile(r"[\w.\-]{0,40}")


def short_key(part: Any) -> str:
    """One part of a field path as a message quotes it. A key that is not a plain name is
    cut to its leading word: a file that is not profile data (/etc/shadow, say) parses
    as a mapping whose keys are whole lines, and a message must not echo them back."""
    text = str(part)
    if _PLAIN_KEY.fullmatch(text):
        return text
    head = _KEY_HEAD.match(text)
    assert head is not None  # the pattern matches the empty string too
    return head.group() + "..."


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the last element of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            return None
        current, _ = optional_inner(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def translate(exc: ValidationError, doc: Document, model: type[BaseModel]) -> list[LoadError]:
    """pydantic's errors, in the project's words and with line numbers."""
    specs = field_specs()
    out: list[LoadError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # A bare fact value is wrapped as {"value": ...}: speak of the field, not of "value".
        shown = loc[:-1] if loc and loc[-1] == "value" else loc
        field = ".".join(short_key(p) for p in shown)
        line = doc.lines.get(loc) or doc.line_of(shown)
        spec = specs.get(field)
        kind = err["type"]
        found = describe_found(err.get("input"))
        if shown and shown[-1] == "[key]":  # the input is the key itself
            found = f"the key '{short_key(err.get('input'))}'"
        if kind == "extra_forbidden":
            owner = _model_at(model, loc)
            names = [n for n in owner.model_fields] if owner else []
            close = suggest(str(loc[-1]), names)
            out.append(
                LoadError(
                    "unknown-field",
                    doc.file,
                    line=line,
                    field=field,
                    detail="no such field",
                    suggestion=close[0] if close else None
                    or (f"known fields here: {', '.join(names)}" if names else None),
                )
            )
        elif kind == "missing":
            what = spec.describe() if spec else _EXPECTED.get(str(shown[-1]), "a value")
            out.append(
                LoadError(
                    "missing-field", doc.file, line=line, field=field, expected=what,
                    found="nothing (the field is required)",
                )
            )
        elif kind == "enum" and spec:
            value = err.get("input")
            close = suggest(str(value), spec.values) if isinstance(value, str) else []
            out.append(
                LoadError(
                    "unknown-enum-value", doc.file, line=line, field=field,
                    expected=spec.describe(), found=found,
                    suggestion=close[0] if close else None,
                )
            )
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            out.append(
                LoadError(
                    "wrong-type", doc.file, line=line, field=field or None,
                    expected="a mapping of fields", found=found,
                )
            )
        else:
            code = "out-of-range" if kind in _RANGE_ERRORS else "wrong-type"
            expected = spec.describe() if spec else _EXPECTED.get(str(shown[-1]) if shown else "", None)
            if expected is None:
                expected = err["msg"][0].lower() + err["msg"][1:]
                expected = expected.removeprefix("input should be ")
            out.append(
                LoadError(code, doc.file, line=line, field=field or None, expected=expected,
                          found=found)
            )
    return out


_RANGE_ERRORS = {
    "greater_than_equal", "less_than_equal", "greater_than", "less_than", "value_error",
}
_EXPECTED = {
    "as_of": "a date written as YYYY-MM-DD, unquoted, in the years 1900 to 2100",
    "country": "a lowercase id such as 'south-korea'",
    "name": "the partner's name as text",
    "source": "a source id from rules/sources.yaml, optionally '#section'",
    "confidence": "one of 'stated-in-document', 'found-in-public-text', 'provisional'",
    "commitment": "a mapping with at least 'tier'",
}


M = typing.TypeVar("M", bound=BaseModel)


def parse_as(doc: Document, model: type[M], what: str) -> M:
    """Validate a whole document against ``model``; all its problems are raised together."""
    if not isinstance(doc.data, dict):
        # a whole document that is text may be any file (a password file, a log): say what
        # it is, never echo it
        found = (f"a text of {len(doc.data):,} characters" if isinstance(doc.data, str)
                 else describe_found(doc.data))
        raise LoadError(
            "not-a-mapping", doc.file, line=doc.line_of(()), expected=f"a mapping ({what})",
            found=found,
        )
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise LoadErrors(translate(exc, doc, model)) from None



def unknown_value(doc: Document, at: tuple, field: str, value: Any, known, code: str,
             expected: str) -> LoadError:
    close = suggest(str(value), known)
    return LoadError(
        code, doc.file, line=doc.line_of(at), field=field, expected=expected,
        found=describe_found(value), suggestion=close[0] if close else None,
    )

