"""Parsing a rule's ``when:`` into a :class:`~engine.conditions.Condition`, checked.

Field paths and values are checked against the profile model here, when the rules
load: a rule that compares text with a number, or names a field that does not
exist, never reaches an evaluator.
"""

from __future__ import annotations

from typing import Any

from .conditions import OPERATORS
from .conditions import ORDERING
from .conditions import All
from .conditions import AnyOf
from .conditions import Cmp
from .conditions import Condition
from .conditions import Not
from .errors import LoadError
from .fields import field_specs
from .fields import suggest
from .validation import describe_found
from .validation import unknown_value
from .yamlsource import Document
from .yamlsource import dotted

_COMBINATORS = ("all", "any", "not")


def parse_condition(
    doc: Document, at: tuple, data: Any, errors: list[LoadError]
) -> Condition | None:
    where = dotted(at)

    def fail(code: str, **kw: Any) -> None:
        errors.append(LoadError(code, doc.file, line=doc.line_of(at), field=where, **kw))

    if not isinstance(data, dict):
        fail("bad-condition", expected="a mapping: {field: ..., <operator>: ...}, "
             "{all: [...]}, {any: [...]} or {not: {...}}", found=describe_found(data))
        return None
    combinators = [k for k in data if k in _COMBINATORS]
    if combinators:
        if len(data) != 1:
            fail("bad-condition", expected=f"'{combinators[0]}' alone in its mapping",
                 found="also " + ", ".join(f"'{k}'" for k in data if k != combinators[0]))
            return None
        key = combinators[0]
        body = data[key]
        if key == "not":
            inner = parse_condition(doc, at + ("not",), body, errors)
            return Not(inner) if inner is not None else None
        if not isinstance(body, list) or not body:
            fail("bad-condition", expected=f"a non-empty list under '{key}'",
                 found=describe_found(body) if body != [] else "an empty list")
            return None
        items = [parse_condition(doc, at + (key, i), c, errors) for i, c in enumerate(body)]
        if any(c is None for c in items):
            return None
        return (All if key == "all" else AnyOf)(tuple(items))  # type: ignore[arg-type]

    if "field" not in data:
        unknown = [str(k) for k in data if k not in OPERATORS]
        close = suggest(unknown[0], [*_COMBINATORS, "field"]) if unknown else []
        fail("bad-condition", expected="'field' and one operator, or all/any/not",
             found=", ".join(f"'{k}'" for k in data) or "an empty mapping",
             suggestion=close[0] if close else None)
        return None
    path = data["field"]
    specs = field_specs()
    if not isinstance(path, str) or path not in specs:
        errors.append(unknown_value(doc, at + ("field",), dotted(at + ("field",)), path, specs, "unknown-field",
                               "a profile field path such as 'commitment.tier'"))
        return None
    spec = specs[path]
    ops = [k for k in data if k != "field"]
    unknown_ops = [k for k in ops if k not in OPERATORS]
    if unknown_ops:
        bad = unknown_ops[0]
        close = suggest(str(bad), OPERATORS)
        errors.append(LoadError(
            "unknown-operator", doc.file, line=doc.line_of(at + (bad,)), field=where,
            expected="one of " + ", ".join(OPERATORS), found=f"'{bad}'",
            suggestion=close[0] if close else None))
        return None
    if len(ops) != 1:
        fail("bad-condition", expected="exactly one operator beside 'field'",
             found=", ".join(ops) if ops else "none")
        return None
    op_name = ops[0]
    op = OPERATORS[op_name]
    value = data[op_name]
    vat = at + (op_name,)

    def bad_value(expected: str, found: Any, code: str = "bad-value",
                  suggestion: str | None = None) -> None:
        errors.append(LoadError(code, doc.file, line=doc.line_of(vat), field=dotted(vat),
                                expected=expected, found=describe_found(found),
                                suggestion=suggestion))

    if op == "present":
        if not isinstance(value, bool):
            bad_value("true or false", value)
            return None
        return Cmp(path, "present" if value else "absent")
    if op in ORDERING and not spec.numeric:
        errors.append(LoadError(
            "bad-operator", doc.file, line=doc.line_of(vat), field=dotted(vat),
            detail=f"'{op_name}' compares numbers, and this field is {spec.kind}",
            hint="use equals, not_equals or in"))
        return None
    candidates = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        bad_value(f"a non-empty list of values, each {spec.describe()}", value)
        return None
    for v in candidates:
        if not spec.accepts(v):
            code = "unknown-enum-value" if spec.kind == "enum" and isinstance(v, str) else "bad-value"
            close = suggest(v, spec.values) if spec.kind == "enum" and isinstance(v, str) else []
            bad_value(spec.describe(), v, code, close[0] if close else None)
            return None
    if op == "in":
        return Cmp(path, "in", tuple(dict.fromkeys(value)))
    return Cmp(path, op, value)
