"""Calibration: the source documents' ordinal judgments, checked against the model.

``rules/calibration.yaml`` lists judgments such as "Finland in NATO is deterred
better than Finland in partnership". Each has checks comparing two terms::

    checks:
      - left: {profile: finland@2023, score: deterrence}
        op: ">"
        right: {profile: finland@2021, score: deterrence}
      - left: {profile: ukraine@2021, score: deterrence}
        op: "<"
        right: {band: strong}          # the lower edge of the band, on left's scale
      - left: {profile: india@2022, score: sanction_exposure,
               set: {sanctions.caatsa_status: waived}}   # a what-if
        op: "<"
        right: {profile: india@2022, score: sanction_exposure}

A judgment holds when all its checks hold.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StrictInt
from pydantic import StrictStr
from pydantic import model_validator

from ..api import Engine
from ..errors import LoadError
from ..errors import LoadErrors
from ..fields import show_value
from ..loader import LoadedProfile
from ..rules import CALIBRATION_FILE
from ..validation import parse_as
from ..yamlsource import load_document
from .changes import apply_changes

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
       "==": operator.eq, "!=": operator.ne}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Term(_Strict):
    profile: StrictStr | None = None
    score: StrictStr | None = None
    set: dict[StrictStr, Any] = {}
    band: StrictStr | None = None
    value: StrictInt | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Term:
        kinds = [self.profile is not None, self.band is not None, self.value is not None]
        if sum(kinds) != 1:
            raise ValueError("a term is {profile, score[, set]}, {band} or {value}")
        if self.profile is not None and self.score is None:
            raise ValueError("a profile term needs 'score'")
        return self

    def describe(self) -> str:
        if self.band is not None:
            return f"band {self.band}"
        if self.value is not None:
            return str(self.value)
        changed = ", ".join(f"{k}={show_value(v)}" for k, v in self.set.items())
        return f"{self.profile}{f' with {changed}' if changed else ''} {self.score}"


class Check(_Strict):
    left: Term
    op: Annotated[StrictStr, Field(pattern=r"^(<|<=|>|>=|==|!=)$")]
    right: Term


class SourceRef(_Strict):
    id: StrictStr
    section: StrictStr | None = None  # a document's section; records are cited whole


class Judgment(_Strict):
    id: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    claim: Annotated[StrictStr, Field(min_length=10)]
    source: SourceRef
    # for a face-validity judgment: the public facts it rests on, which the cited
    # record holds (a document's judgment needs none beyond its section)
    basis: StrictStr | None = None
    checks: Annotated[tuple[Check, ...], Field(min_length=1)]


class CalibrationFile(_Strict):
    judgments: tuple[Judgment, ...]


class CheckOutcome(BaseModel):
    text: str
    left: int
    right: int
    holds: bool


class JudgmentOutcome(BaseModel):
    id: str
    claim: str
    source: str
    holds: bool
    checks: list[CheckOutcome]


def load_calibration(path: str | Path, engine: Engine) -> CalibrationFile:
    doc = load_document(path)
    cal = parse_as(doc, CalibrationFile, "with a 'judgments' list")
    errors: list[LoadError] = []
    targets = engine.ruleset.targets
    seen: set[str] = set()
    for i, j in enumerate(cal.judgments):
        at = ("judgments", i)
        if j.id in seen:
            errors.append(LoadError("duplicate-id", doc.file, line=doc.line_of(at + ("id",)),
                                    detail=f"the judgment id '{j.id}' appears twice"))
        seen.add(j.id)
        problem = engine.ruleset.catalog.citation_problem(j.source.id, j.source.section)
        if problem:
            errors.append(problem.at(doc.file, line=doc.line_of(at + ("source",)),
                                     subject=f"judgment '{j.id}'"))
        for k, check in enumerate(j.checks):
            for side in ("left", "right"):
                term: Term = getattr(check, side)
                where = at + ("checks", k, side)
                if term.score is not None and term.score not in targets:
                    errors.append(LoadError(
                        "unknown-target", doc.file, line=doc.line_of(where),
                        subject=f"judgment '{j.id}'", field="score",
                        expected="a score or dimension: " + ", ".join(targets),
                        found=f"'{term.score}'"))
                if term.band is not None:
                    other: Term = check.right if side == "left" else check.left
                    bands = targets[other.score].bands if other.score in targets else ()
                    if term.band not in bands:
                        errors.append(LoadError(
                            "unknown-band", doc.file, line=doc.line_of(where),
                            subject=f"judgment '{j.id}'", field="band",
                            expected="one of " + ", ".join(bands), found=f"'{term.band}'"))
    if errors:
        raise LoadErrors(errors)
    return cal


def run_calibration(
    engine: Engine, calibration: CalibrationFile, profiles_dir: str | Path | None = None
) -> list[JudgmentOutcome]:
    cache: dict[str, LoadedProfile] = {}

    def value(term: Term, other: Term) -> int:
        if term.value is not None:
            return term.value
        if term.band is not None:
            assert other.score is not None  # load_calibration matched the band to a score
            scale = engine.ruleset.targets[other.score]
            return scale.band_range(term.band)[0]
        # neither a value nor a band: Term._one_kind requires a profile and a score
        assert term.profile is not None and term.score is not None
        if term.profile not in cache:
            cache[term.profile] = engine.find_profile(term.profile, profiles_dir)
        profile = cache[term.profile].profile
        if term.set:
            profile = apply_changes(profile, term.set, origin=f"calibration {term.profile}")
        result = engine.score(profile)
        return result.target(term.score).score

    outcomes = []
    for j in calibration.judgments:
        checks = []
        for c in j.checks:
            left, right = value(c.left, c.right), value(c.right, c.left)
            ok = OPS[c.op](left, right)
            text = f"{c.left.describe()} = {left} {c.op} {c.right.describe()} = {right}"
            checks.append(CheckOutcome(text=text, left=left, right=right, holds=ok))
        outcomes.append(JudgmentOutcome(
            id=j.id, claim=j.claim,
            source=j.source.id + (f"#{j.source.section}" if j.source.section else ""),
            holds=all(c.holds for c in checks), checks=checks))
    return outcomes


__all__ = ["load_calibration", "run_calibration", "CALIBRATION_FILE"]


def calibrate(engine: Engine, calibration_file: str | Path | None = None,
              profiles_dir: str | Path | None = None) -> list[JudgmentOutcome]:
    """Every judgment of the calibration file (default: the rule set's) against the scores."""
    path = calibration_file or Path(engine.ruleset.directory) / CALIBRATION_FILE
    return run_calibration(engine, load_calibration(path, engine), profiles_dir)


def calibration_text(outcomes: list[JudgmentOutcome]) -> str:
    from ..render import join_lines

    lines = []
    for o in outcomes:
        lines.append(f"{'holds ' if o.holds else 'FAILS '} {o.id}: {o.claim} [{o.source}]")
        lines += [f"        {'ok  ' if c.holds else 'NOT '} {c.text}" for c in o.checks]
    held = sum(o.holds for o in outcomes)
    lines.append(f"{held} of {len(outcomes)} judgments hold")
    return join_lines(lines)


def calibration_json(outcomes: list[JudgmentOutcome]) -> str:
    import json

    return json.dumps([o.model_dump() for o in outcomes], indent=2, ensure_ascii=False) + "\n"
