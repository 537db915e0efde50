"""The shapes of the rule base's files: what ``model.yaml`` and a rule file may hold.

Pydantic models, strict and frozen; :mod:`engine.rule_loader` parses each file into
one of them and then checks what a shape cannot say (fields, values, citations).
"""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StrictBool
from pydantic import StrictInt
from pydantic import StrictStr

ID = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)]
TargetId = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[StrictStr, Field(min_length=1)]



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)



class MonotoneDoc(_Strict):
    """A declared intent: changing ``field`` one way never moves the score the other way."""

    field: Text
    direction: Literal["increasing", "decreasing"]
    # for enum fields: the values from low to high; a list in the list holds values of equal rank
    order: tuple[StrictStr | tuple[StrictStr, ...], ...] | None = None
    why: StrictStr | None = None


class ScoreDoc(_Strict):
    title: Text
    base: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    bands: Annotated[tuple[ID, ...], Field(min_length=5, max_length=5)] | None = None
    description: StrictStr | None = None
    monotone: tuple[MonotoneDoc, ...] = ()


class OverlapDoc(_Strict):
    rules: Annotated[tuple[ID, ID], Field()]
    why: Annotated[StrictStr, Field(min_length=10)]


class ModelDoc(_Strict):
    scores: dict[TargetId, ScoreDoc]
    dimensions: dict[TargetId, ScoreDoc]
    # fields that measure one thing, so two rules reading different ones still count it twice
    indicators: dict[ID, tuple[StrictStr, ...]] = {}
    # pairs of rules allowed to score the same evidence into the same target, with the reason
    intended_overlaps: tuple[OverlapDoc, ...] = ()


class SourceRefDoc(_Strict):
    id: Text
    section: StrictStr | None = None


class GroupDoc(_Strict):
    title: StrictStr | None = None
    exclusive: StrictBool = False
    required: StrictBool = False


class RuleDoc(_Strict):
    id: ID
    title: Text
    when: Any = Field(...)
    points: Annotated[dict[TargetId, StrictInt], Field(min_length=1)]
    rationale: Annotated[StrictStr, Field(min_length=10)]
    # what the cited passage or work claims, in our words: a reviewer judges the reading
    # without opening the source
    support: Annotated[StrictStr, Field(min_length=10)]
    source: SourceRefDoc
    group: ID | None = None
    # fields the condition reads only to say where the rule applies, not as the evidence it
    # scores, each with the reason: `rules check` does not count them as double counting
    context: dict[StrictStr, Annotated[StrictStr, Field(min_length=10)]] = {}
    # what the rationale claims each target's points do; `rules check` holds the points to it
    direction: dict[TargetId, Literal["raises", "lowers"]] = {}


class RuleFileDoc(_Strict):
    dimension: TargetId
    description: StrictStr | None = None
    groups: dict[ID, GroupDoc] = {}
    rules: tuple[RuleDoc, ...]


