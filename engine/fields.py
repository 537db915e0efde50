"""The profile fields a rule may read, derived once from the pydantic model.

Rules name fields by dotted path (``dependence.arms_russia_share``). This module
turns the :class:`~engine.profile.Profile` model into one :class:`FieldSpec`
per such path, so the rule loader checks paths and values against the model,
the compiler knows the key each field has in the asserted fact, and property
tests know what values exist.
"""

from __future__ import annotations

import functools
import sys
import typing
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

from annotated_types import Ge
from annotated_types import Le
from pydantic import BaseModel

from .profile import SECTIONS
from .profile import Fact
from .profile import Profile


@dataclass(frozen=True)
class FieldSpec:
    path: str  # "section.name"
    kind: str  # "enum" | "bool" | "int" | "number" | "text"
    values: tuple[str, ...] = ()  # enum values, in declaration order
    ge: float | None = None
    le: float | None = None
    decimals: int | None = None
    required: bool = False
    doc: str = ""
    actionable: bool = True  # policy can change it; geography and history cannot
    # years a dated value stays true after the period it describes; None: not dated
    max_age: int | None = None

    @property
    def fact_key(self) -> str:
        return fact_key(self.path)

    @property
    def durable_key(self) -> str:
        return durable_key(self.path)

    @property
    def domain(self) -> tuple[Any, ...]:
        """Every value a profile can hold here when there are few (an enumerated or a
        true/false field), else none: what a table keyed by value can list in full."""
        if self.kind == "enum":
            return self.values
        return (False, True) if self.kind == "bool" else ()

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "number")

    def describe(self) -> str:
        """What a valid value of this field looks like, for error messages."""
        if self.kind == "enum":
            return "one of " + ", ".join(f"'{v}'" for v in self.values)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "text":
            return "text"
        what = "a whole number" if self.kind == "int" else "a number"
        if self.ge is not None and self.le is not None:
            what += f" from {_num(self.ge)} to {_num(self.le)}"
        if self.decimals is not None:
            what += f" with at most {self.decimals} decimal places"
        return what

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is a valid value of this field (as a rule threshold)."""
        if self.kind == "enum":
            return isinstance(value, str) and value in self.values
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "text":
            return isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        if value != value:  # NaN
            return False
        if self.ge is not None and value < self.ge:
            return False
        if self.le is not None and value > self.le:
            return False
        if self.decimals is not None and round(value, self.decimals) != value:
            return False
        return True


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def fact_key(path: str) -> str:
    """The field's name in a flat fact, where a peer engine needs a plain identifier
    (``section__field``)."""
    return path.replace(".", "__")


def durable_key(path: str) -> str:
    """The field's key in the fact given to durable_rules: ``f`` and its place in
    :func:`field_specs` (``f0`` is ``region``).

    durable_rules reads "a.b" as a path into nested objects, so the fact is flat. The
    keys are short because durable_rules hashes every key of a fact it is given and
    writes the whole fact, keys and all, into the action of every rule that fires:
    some twenty copies a profile, which ``section__field`` keys made twice as long.
    """
    return _durable_keys()[path]


@cache
def _durable_keys() -> dict[str, str]:
    return {path: f"f{i}" for i, path in enumerate(field_specs())}


def optional_inner(annotation: Any) -> tuple[Any, bool]:
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], False
    return annotation, True


def _leaf(path: str, fact_cls: type[BaseModel], required: bool, doc: str,
          actionable: bool, max_age: int | None) -> FieldSpec:
    info = fact_cls.model_fields["value"]
    inner = info.annotation
    ge: float | None = None
    le: float | None = None
    decimals = None
    for meta in info.metadata:
        if isinstance(meta, Ge) and isinstance(meta.ge, int | float):
            ge = meta.ge
        elif isinstance(meta, Le) and isinstance(meta.le, int | float):
            le = meta.le
        elif getattr(getattr(meta, "func", None), "__name__", "") == "_two_decimals":
            decimals = 2
    spec = functools.partial(FieldSpec, path, required=required, doc=doc,
                             actionable=actionable, max_age=max_age)
    if isinstance(inner, type) and issubclass(inner, Enum):
        return spec("enum", tuple(m.value for m in inner))
    if inner is bool:
        return spec("bool")
    if inner is int:
        return spec("int", ge=ge, le=le)
    if inner is float:
        return spec("number", ge=ge, le=le, decimals=decimals)
    if inner is str:
        return spec("text")
    raise TypeError(f"profile field {path} has a type rules cannot read: {inner!r}")


# Identity fields rules may read besides the sections' facts (geography: no provenance).
TOP_LEVEL = ("region",)


@cache
def field_specs() -> dict[str, FieldSpec]:
    """Every rule-readable field of a profile, by dotted path, in model order."""
    out: dict[str, FieldSpec] = {}
    for name in TOP_LEVEL:
        annotation, _ = optional_inner(Profile.model_fields[name].annotation)
        out[name] = FieldSpec(name, "enum", tuple(m.value for m in annotation), actionable=False)
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            annotation, required = optional_inner(info.annotation)
            if not (isinstance(annotation, type) and issubclass(annotation, Fact)):
                raise TypeError(f"profile field {section}.{name} is not a Fact")
            # interned, as the rules' field names are: every read of a fact by a path
            # finds its key by identity, without comparing the strings
            path = sys.intern(f"{section}.{name}")
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            actionable = bool(extra.get("actionable", True))
            max_age = extra.get("max_age")
            out[path] = _leaf(path, annotation, required, info.description or "", actionable,
                              max_age if isinstance(max_age, int) else None)
    return out


def show_value(v: Any) -> str:
    """A field value as a user writes it in YAML; None is an unknown fact."""
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(show_value(x) for x in v) + "]"
    return str(v)


def suggest(word: str, choices: typing.Iterable[str], n: int = 3) -> list[str]:
    import difflib  # only a mistake needs it: not paid for at every start

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


@cache
def _layout() -> tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...]:
    """Per section, its fields as (name, dotted path, is an enum): the walk flatten repeats."""
    specs = field_specs()
    layout = []
    for section, model in SECTIONS.items():
        fields = []
        for name in model.model_fields:
            # the spec's own interned path, so that the fact's keys are the rules' names
            spec = specs[f"{section}.{name}"]
            fields.append((name, spec.path, spec.kind == "enum"))
        layout.append((section, tuple(fields)))
    return tuple(layout)


def flatten(profile: Profile) -> dict[str, Any]:
    """The profile's known facts by dotted path; unknown fields are left out, never None."""
    return _flatten(profile)


# profiles flattened by the loop before flatten turns to the function written out for
# the fields: writing and compiling it costs some 2.7 ms, which a command that scores one
# profile (``score KEY``) would pay for nothing
COMPILE_AFTER = 100
_looped = 0


def _flatten_by_loop(profile: Profile) -> dict[str, Any]:
    global _flatten, _looped
    _looped += 1
    if _looped > COMPILE_AFTER:
        _flatten = _flattener()
    out: dict[str, Any] = {}
    for name in TOP_LEVEL:
        value = getattr(profile, name)
        if value is not None:
            out[name] = value._value_
    # read the models' instance dicts directly, and an enum's _value_ rather than .value,
    # a property that costs a call per read
    sections = profile.__dict__
    for section, fields in _layout():
        facts = sections[section].__dict__
        for name, path, is_enum in fields:
            fact = facts[name]
            if fact is not None:
                value = fact.value
                out[path] = value._value_ if is_enum else value
    return out


_flatten: typing.Callable[[Profile], dict[str, Any]] = _flatten_by_loop


@cache
def _flattener() -> typing.Callable[[Profile], dict[str, Any]]:
    """:func:`flatten` as a function written out for the profile's fields, made once.

    flatten runs once per scored profile, and the loop over the field tables spends a
    fifth of its instructions on the loop itself (unpacking each entry, testing whether
    it is an enumeration): 71k instructions a profile, against 57k written out. The
    generated source holds only the models' field names (Python identifiers, written as
    literals) and names bound to ``env``; the dotted paths are bound rather than
    written, as the specs' own interned strings, so that the fact's keys are the rules'
    names by identity."""
    env: dict[str, Any] = {}
    lines = ["def flatten(profile):", "    out = {}", "    sections = profile.__dict__"]
    for name in TOP_LEVEL:
        lines += [f"    value = sections[{name!r}]",
                  "    if value is not None:",
                  f"        out[{name!r}] = value._value_"]
    for s, (section, fields) in enumerate(_layout()):
        lines.append(f"    facts = sections[{section!r}].__dict__")
        for f, (name, path, is_enum) in enumerate(fields):
            env[f"p{s}_{f}"] = path
            lines += [f"    fact = facts[{name!r}]",
                      "    if fact is not None:",
                      f"        out[p{s}_{f}] = fact.value{'._value_' if is_enum else ''}"]
    lines.append("    return out")
    exec(compile("\n".join(lines), "<flatten>", "exec"), env)
    made: typing.Callable[[Profile], dict[str, Any]] = env["flatten"]
    return made


__all__ = ["FieldSpec", "field_specs", "flatten", "suggest", "Profile"]
