"""Checking rule and profile files, named as directories or one by one, with every
problem reported at once: what ``latticework validate PATH...`` runs.

A rule file cannot be checked apart from its rule set (it names sources, scores and
groups that other files define), so a rule file stands for the rule set of its
directory. A profile file is checked as a profile of a directory is: loaded, named after
its key, and scored, so that a profile that trips a group is reported here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .api import Engine
from .api import bundled_dir
from .errors import DurableEngineError
from .errors import InputError
from .errors import LoadError
from .errors import LoadErrors
from .errors import display_path
from .loader import load_files
from .loader import profile_files
from .rule_loader import load_ruleset

if TYPE_CHECKING:  # pragma: no cover
    from .rules import RuleSet

# the file that makes a directory a rule set (rules/model.yaml)
MODEL_FILE = "model.yaml"


def rules_dir_of(path: Path) -> Path | None:
    """The rule set a path belongs to: a directory holding model.yaml, or a file in one
    or in one of its subdirectories (rules/imports/, rules/sources/); else None."""
    candidates = [path] if path.is_dir() else []
    candidates += list(path.parents)[:2]
    for directory in candidates:
        if (directory / MODEL_FILE).is_file():
            return directory
    return None


def split_paths(paths: Iterable[str | Path]) -> tuple[Path | None, list[Path], list[Path]]:
    """Paths as (the rule set's directory, profile directories, profile files). A path
    that is not part of a rule set is a profile file or a directory of them; a path that
    does not exist is a profile file, which loading reports as missing."""
    rules: set[Path] = set()
    directories: list[Path] = []
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        ruleset = rules_dir_of(path)
        if ruleset is not None:
            rules.add(ruleset)
        elif path.is_dir():
            directories.append(path)
        else:
            files.append(path)
    if len(rules) > 1:
        shown = ", ".join(sorted(display_path(r) for r in rules))
        raise InputError(f"the paths belong to {len(rules)} rule sets ({shown}); "
                         "validate checks one rule set at a time")
    return (rules.pop() if rules else None), directories, files


def validate_paths(
    paths: Iterable[str | Path] = (),
    rules_dir: str | Path | None = None,
    profiles_dir: str | Path | None = None,
) -> tuple[int, int, list[str]]:
    """Check a rule set and profiles; (rules, profiles, problems), all at once.

    ``paths`` name rule files or directories (the rule set they belong to is checked)
    and profile files or directories (only those profiles are checked). Without a rule
    path, the rule set is ``rules_dir`` (default: the bundled one); without a profile
    path, the profiles are those of ``profiles_dir`` (default: the bundled ones), so
    that a rule set is always tried on profiles. The rules are compiled in
    durable_rules, as ``score`` runs them, and every profile is scored.
    """
    named_rules, directories, files = split_paths(paths)
    if named_rules is not None and rules_dir is not None and \
            Path(rules_dir).resolve() != named_rules.resolve():
        raise InputError(f"--rules {display_path(rules_dir)} and the rule path "
                         f"{display_path(named_rules)} name two rule sets; give one")
    rules_path = named_rules or Path(rules_dir or bundled_dir("rules"))
    problems: list[str] = []
    ruleset: RuleSet | None = None
    try:
        ruleset = load_ruleset(rules_path)
    except LoadErrors as many:
        problems += [e.message for e in many.errors]
    except LoadError as one:
        problems.append(one.message)
    engine: Engine | None = None
    if ruleset is not None:
        try:
            engine = Engine(ruleset)
        except DurableEngineError as exc:
            problems.append(str(exc))
            # the profiles are still checked against the groups, by the reference evaluator
            engine = Engine(ruleset, evaluator="reference")
    n_rules = len(ruleset.rules) if ruleset else 0
    if not directories and not files:
        directories = [Path(profiles_dir or bundled_dir("profiles"))]
    to_load: list[Path] = list(files)
    for directory in directories:
        try:
            to_load += profile_files(directory)
        except LoadError as one:
            problems.append(one.message)
    loaded, errors = load_files(list(dict.fromkeys(to_load)),
                                ruleset.catalog if ruleset else None)
    problems += [e.message for e in errors]
    if engine is not None:
        with engine:
            for lp in loaded:
                try:
                    _, eval_errors = engine.score_many([lp])
                except DurableEngineError as exc:
                    problems.append(f"{lp.file}: {exc}")
                    continue
                problems += [f"{e.source}: {e.message}" for e in eval_errors]
    return n_rules, len(loaded), problems


def validate(
    rules_dir: str | Path | None = None, profiles_dir: str | Path | None = None
) -> tuple[int, int, list[str]]:
    """Check a rule set (default: the bundled one) and every profile of a directory
    (default: the bundled ones); (rules, profiles, problems), all at once."""
    return validate_paths((), rules_dir, profiles_dir)
