"""Seeded random profiles, for volume: benchmarks, soak tests and sweeps.

Property tests use the hypothesis strategy in tests/ (it shrinks failures);
this generator is for when thousands of valid profiles are needed fast and
reproducibly. Both draw from the same field specs, so both cover every field.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from ..fields import FieldSpec
from ..fields import field_specs
from ..profile import Profile


def _value(rng: random.Random, spec: FieldSpec) -> Any:
    if spec.kind == "enum":
        return rng.choice(spec.values)
    if spec.kind == "bool":
        return rng.random() < 0.5
    if spec.kind == "text":
        return "generated"
    lo = int(spec.ge if spec.ge is not None else 0)
    hi = int(spec.le if spec.le is not None else 1_000_000)
    if spec.kind == "int":
        return rng.choice((lo, hi, rng.randint(lo, hi)))
    return rng.choice((float(lo), float(hi), rng.randint(lo * 100, hi * 100) / 100))


def random_profile_data(rng: random.Random, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "country": f"synthetic-{index}",
        "name": f"Synthetic {index}",
        "as_of": dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 30)),
    }
    for path, spec in field_specs().items():
        if not spec.required and rng.random() < 0.3:
            continue  # unknown
        _put(data, path, _value(rng, spec))
    return data


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    if "." in path:
        section, name = path.split(".")
        data.setdefault(section, {})[name] = value
    else:
        data[path] = value


def random_profiles(n: int, seed: int = 0) -> Iterator[Profile]:
    rng = random.Random(seed)
    for i in range(n):
        yield Profile.model_validate(random_profile_data(rng, i))
