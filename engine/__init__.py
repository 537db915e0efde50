"""latticework: transparent, rule-based scores of US alliances and security partnerships.

The pipeline, one module per step::

    yamlsource -> loader (profiles) / rules (rule base) -> compiler -> evaluator
        -> trace -> scoring -> explain (rendering) ;  api (Engine) ;  cli

The public API is re-exported here.
"""

from .api import Engine, bundled_dir
from .errors import (
    DurableEngineError,
    EvaluationError,
    GroupViolation,
    InputError,
    LatticeworkError,
    LoadError,
    LoadErrors,
    UnknownProfileError,
)
from .loader import load_profile, load_profiles
from .profile import Profile
from .results import BatchResult, Contribution, Match, ProfileResult, ScoreResult
from .rules import Rule, RuleSet, load_ruleset

__all__ = [
    "Engine",
    "bundled_dir",
    "Profile",
    "Rule",
    "RuleSet",
    "load_ruleset",
    "load_profile",
    "load_profiles",
    "ProfileResult",
    "ScoreResult",
    "Contribution",
    "Match",
    "BatchResult",
    "LatticeworkError",
    "InputError",
    "LoadError",
    "LoadErrors",
    "UnknownProfileError",
    "EvaluationError",
    "GroupViolation",
    "DurableEngineError",
]
