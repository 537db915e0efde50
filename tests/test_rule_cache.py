"""The on-disk cache of loaded rule sets: used only while every file it was built from is
unchanged, ignored when broken, off on request, never holding a set that failed to load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Engine
from engine.conditions import Cmp
from engine.conditions import Condition
from engine.errors import LoadErrors
from engine.fields import field_specs
from engine.rule_cache import CACHE_DIR_ENV
from engine.rule_cache import NO_CACHE_ENV
from engine.rule_cache import load_cached
from engine.rule_loader import load_ruleset
from engine.rules import RuleSet

from .helpers import run_cli


def leaves(nnf: Condition) -> list[Cmp]:
    return [nnf] if isinstance(nnf, Cmp) else [leaf for c in nnf.items for leaf in leaves(c)]


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, directory: Path) -> RuleSet:
        self.calls += 1
        return load_ruleset(directory)


def test_second_load_comes_from_the_cache_and_equals_a_fresh_load(rules_copy, cache_dir):
    loader = CountingLoader()
    first = load_cached(rules_copy, loader)
    second = load_cached(rules_copy, loader)
    assert loader.calls == 1
    assert len(list(cache_dir.glob("ruleset-*.pickle"))) == 1
    fresh = load_ruleset(rules_copy)
    assert second == fresh == first
    assert second.digest == fresh.digest
    assert second.catalog.entries == fresh.catalog.entries
    assert second.directory == fresh.directory
    assert [(r.file, r.line) for r in second.rules] == [(r.file, r.line) for r in fresh.rules]


def test_a_cached_rule_set_names_fields_by_the_profile_fields_own_strings(rules_copy, cache_dir):
    """Facts are dicts keyed by the fields' paths; a rule's field name that is the path's
    own (interned) string finds its key by identity. Unpickling makes fresh strings, so
    the cached set must intern them again, as a fresh load does."""
    loader = CountingLoader()
    load_cached(rules_copy, loader)
    cached = load_cached(rules_copy, loader)
    assert loader.calls == 1
    specs = field_specs()
    fields = [leaf.field for rule in cached.rules for leaf in leaves(rule.nnf)]
    assert fields and all(field is specs[field].path for field in fields)


@pytest.mark.parametrize("name", ["guarantee.yaml", "model.yaml", "sources.yaml",
                                  "sources/datasets.yaml"])
def test_a_change_to_any_rule_catalog_or_model_file_loads_again(rules_copy, cache_dir, name):
    loader = CountingLoader()
    before = load_cached(rules_copy, loader)
    path = rules_copy / name
    # a comment changes no rule, yet the bytes changed: the set is loaded again
    path.write_text(path.read_text() + "# edited\n")
    assert load_cached(rules_copy, loader) == before
    assert loader.calls == 2
    old = "Collective-defence guarantee (NATO Article 5)"
    if name == "guarantee.yaml":
        path.write_text(path.read_text().replace(old, "Changed", 1))
    else:
        path.write_text(path.read_text() + "# edited again\n")
    after = load_cached(rules_copy, loader)
    assert loader.calls == 3
    assert after == load_ruleset(rules_copy)
    if name == "guarantee.yaml":
        assert after != before
        assert after.rule("gs-tier-collective-defence").title == "Changed"
    # the new set replaced the old one: one entry per rules directory
    assert len(list(cache_dir.glob("ruleset-*.pickle"))) == 1
    assert load_cached(rules_copy, loader) == after and loader.calls == 3


def test_a_broken_cache_file_is_ignored_and_replaced(rules_copy, cache_dir):
    loader = CountingLoader()
    load_cached(rules_copy, loader)
    (entry,) = cache_dir.glob("ruleset-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert load_cached(rules_copy, loader) == load_ruleset(rules_copy)
    assert loader.calls == 2
    load_cached(rules_copy, loader)
    assert loader.calls == 2


def test_an_unwritable_cache_only_costs_time(rules_copy, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker / "cache"))  # cannot be created
    loader = CountingLoader()
    assert load_cached(rules_copy, loader) == load_cached(rules_copy, loader)
    assert loader.calls == 2


def test_the_cache_can_be_turned_off(rules_copy, cache_dir, monkeypatch):
    loader = CountingLoader()
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    load_cached(rules_copy, loader)
    load_cached(rules_copy, loader)
    assert loader.calls == 2
    assert not cache_dir.exists()


def test_engine_load_uses_the_cache_unless_told_not_to(rules_copy, cache_dir):
    with Engine.load(rules_copy, cache=False) as e:
        assert e.ruleset == load_ruleset(rules_copy)
    assert not cache_dir.exists()
    with Engine.load(rules_copy) as e:
        assert e.score("india@2022").deterrence.score >= 0
    assert len(list(cache_dir.glob("ruleset-*.pickle"))) == 1


def test_a_rule_set_that_fails_to_load_is_never_cached(rules_copy, cache_dir):
    (rules_copy / "guarantee.yaml").write_text("dimension: guarantee_strength\nrules: 3\n")
    loader = CountingLoader()
    for _ in range(2):
        with pytest.raises(LoadErrors):
            load_cached(rules_copy, loader)
    assert loader.calls == 2
    assert not list(cache_dir.glob("ruleset-*.pickle"))


@pytest.mark.parametrize("command", [["score", "india@2022"],
                                     ["explain", "germany@2022", "--all", "--format", "json"]])
def test_commands_answer_the_same_from_the_cache(cache_dir, monkeypatch, command):
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    uncached = run_cli(*command)
    monkeypatch.delenv(NO_CACHE_ENV)
    filled = run_cli(*command)
    assert len(list(cache_dir.glob("ruleset-*.pickle"))) == 1
    hit = run_cli(*command)
    assert uncached.exit_code == filled.exit_code == hit.exit_code == 0, uncached.output
    assert hit.output == filled.output == uncached.output


def test_a_change_to_the_engine_loads_again(rules_copy, cache_dir, tmp_path, monkeypatch):
    import engine.rule_cache as rule_cache

    code = tmp_path / "engine"
    code.mkdir()
    (code / "rule_loader.py").write_text("# one version of the loader\n")
    monkeypatch.setattr(rule_cache, "_ENGINE", code)
    # the engine's fingerprint is taken once per process: each step here stands for a
    # new process, and the real fingerprint comes back afterwards
    fingerprint = rule_cache.code_fingerprint
    fingerprint.cache_clear()
    try:
        loader = CountingLoader()
        load_cached(rules_copy, loader)
        load_cached(rules_copy, loader)
        assert loader.calls == 1
        (code / "rule_loader.py").write_text("# another version of the loader\n")
        fingerprint.cache_clear()
        load_cached(rules_copy, loader)
        assert loader.calls == 2
    finally:
        fingerprint.cache_clear()


# run in a fresh interpreter: what `latticework score KEY` builds, listed as it ends
_BUILT_VALIDATORS = """
import sys
import pydantic
from engine.cli import main

main(["score", "india@2022"], standalone_mode=False)
models, built = [pydantic.BaseModel], []
while models:
    model = models.pop()
    models += model.__subclasses__()
    if model.__module__.startswith("engine.") and model.__pydantic_complete__:
        built.append(f"{model.__module__}.{model.__qualname__}")
print(",".join(sorted(built)), file=sys.stderr)
"""


def test_a_warm_score_builds_no_validator(cache_dir):
    """With its caches warm, `score KEY` takes the rule set, its catalog and the profile
    from them and validates nothing: building a model's validator at import (the
    catalog's did) cost 7 % of the command's instructions."""
    env = {**os.environ, CACHE_DIR_ENV: str(cache_dir)}
    env.pop(NO_CACHE_ENV, None)
    runs = [subprocess.run([sys.executable, "-c", _BUILT_VALIDATORS], capture_output=True,
                           text=True, env=env, check=True) for _ in range(2)]
    assert "engine.profile.Profile" in runs[0].stderr  # the cold run read the YAML
    assert runs[1].stderr.strip() == ""
    assert runs[1].stdout == runs[0].stdout
