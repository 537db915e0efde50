"""latticework: transparent, rule-based scores of US alliances and security partnerships.

The pipeline, one module per step::

    yamlsource -> validation -> loader (profiles) / rule_loader (rule base)
        -> compiler -> evaluator (durable_rules) + reference -> trace -> scoring
        -> render / tables / export ;  api (Engine), batch ;  cli

Built on it: analysis/ (comparisons, counterfactuals, sensitivity, calibration,
the checker, the report), authoring/ (new profiles, imports), bench/.

The public API is re-exported here. The names resolve on first use, so that
``latticework --help`` does not pay for pydantic and the YAML parser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from typing import Any

_EXPORTS = {
    "Engine": "api",
    "BatchOptions": "batch",
    "bundled_dir": "api",
    "validate": "filecheck",
    "Profile": "profile",
    "Rule": "rules",
    "RuleSet": "rules",
    "load_ruleset": "rule_loader",
    "load_profile": "loader",
    "load_profiles": "loader",
    "ProfileResult": "results",
    "ScoreResult": "results",
    "Contribution": "results",
    "Match": "results",
    "BatchResult": "results",
    "LatticeworkError": "errors",
    "InputError": "errors",
    "LoadError": "errors",
    "LoadErrors": "errors",
    "UnknownProfileError": "errors",
    "EvaluationError": "errors",
    "GroupViolation": "errors",
    "DurableEngineError": "errors",
    "EngineClosedError": "errors",
    "EvaluatorsDisagree": "errors",
    "ErrorCode": "errors",
}

# spelt out, not derived from _EXPORTS, so that linters and type checkers can read it
__all__ = [
    "BatchOptions",
    "BatchResult",
    "Contribution",
    "DurableEngineError",
    "Engine",
    "EngineClosedError",
    "ErrorCode",
    "EvaluationError",
    "EvaluatorsDisagree",
    "GroupViolation",
    "InputError",
    "LatticeworkError",
    "LoadError",
    "LoadErrors",
    "Match",
    "Profile",
    "ProfileResult",
    "Rule",
    "RuleSet",
    "ScoreResult",
    "UnknownProfileError",
    "bundled_dir",
    "load_profile",
    "load_profiles",
    "load_ruleset",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .api import Engine
    from .api import bundled_dir
    from .batch import BatchOptions
    from .errors import DurableEngineError
    from .errors import EngineClosedError
    from .errors import ErrorCode
    from .errors import EvaluationError
    from .errors import EvaluatorsDisagree
    from .errors import GroupViolation
    from .errors import InputError
    from .errors import LatticeworkError
    from .errors import LoadError
    from .errors import LoadErrors
    from .errors import UnknownProfileError
    from .filecheck import validate
    from .loader import load_profile
    from .loader import load_profiles
    from .profile import Profile
    from .results import BatchResult
    from .results import Contribution
    from .results import Match
    from .results import ProfileResult
    from .results import ScoreResult
    from .rule_loader import load_ruleset
    from .rules import Rule
    from .rules import RuleSet
