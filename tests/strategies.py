"""The one hypothesis strategy for profiles, derived from the pydantic model.

pydantic v2 has no hypothesis plugin. This walks the same field specs the rule
loader checks against, so a new profile field is generated without edits here:
every enum value, the edges of every range, and any optional field absent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from engine.fields import FieldSpec
from engine.fields import field_specs
from engine.profile import Profile


def value_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "enum":
        return st.sampled_from(spec.values)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "text":
        return st.text(min_size=1, max_size=12)
    lo = int(spec.ge if spec.ge is not None else 0)
    hi = int(spec.le if spec.le is not None else 1_000_000)
    if spec.kind == "int":
        return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))
    hundredths = st.integers(lo * 100, hi * 100).map(lambda n: n / 100)
    # thresholds sit on round numbers: make values near them likely
    near_round = st.integers(lo, hi).flatmap(
        lambda n: st.sampled_from([n, max(lo, n - 0.01), min(hi, n + 0.01)])
    )
    return st.one_of(st.sampled_from([float(lo), float(hi)]), near_round, hundredths)


@st.composite
def profile_data(draw: st.DrawFn) -> dict[str, Any]:
    """A valid profile as the plain data a YAML file would hold."""
    data: dict[str, Any] = {
        "country": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        "name": "Generated",
        "as_of": draw(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))),
    }
    for path, spec in field_specs().items():
        if not spec.required and draw(st.booleans()):
            continue  # unknown
        value = draw(value_strategy(spec))
        if "." in path:
            section, name = path.split(".")
            if spec.max_age is not None:  # a dated fact says which period it describes
                value = {"value": value, "period": str(data["as_of"].year)}
            data.setdefault(section, {})[name] = value
        else:
            data[path] = value
    return data


def profiles() -> st.SearchStrategy[Profile]:
    return profile_data().map(Profile.model_validate)
