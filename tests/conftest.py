from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings

from engine import Engine
from engine import bundled_dir
from engine.rule_cache import CACHE_DIR_ENV
from engine.rule_cache import NO_CACHE_ENV

# Loaded rule sets are cached on disk (engine.rule_cache). Tests, and the commands they run
# in child processes, never write to the real home; and the cache is off unless a test
# turns it on (tests/test_rule_cache.py): a test that patches the loader would otherwise
# leave its patched rule set behind for the tests after it.
_CACHE_DIR = tempfile.mkdtemp(prefix="latticework-test-cache-")
os.environ[CACHE_DIR_ENV] = _CACHE_DIR
os.environ[NO_CACHE_ENV] = "1"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


# Default runs stay quick; LATTICEWORK_EXAMPLES raises the example count (e.g. nightly).
settings.register_profile(
    "default",
    max_examples=int(os.environ.get("LATTICEWORK_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")

MINIMAL_PROFILE = """\
country: testland
name: Testland
as_of: 2022-07-01
commitment:
  tier: bilateral-treaty
"""


@pytest.fixture(scope="session")
def engine():
    with Engine.load() as e:
        yield e


@pytest.fixture(scope="session")
def reference_engine():
    with Engine.load(evaluator="reference") as e:
        yield e


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The caches turned on (they are off in tests), in a directory of this test's own."""
    where = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(where))
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)
    return where


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled rules, to plant problems in."""
    dest = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), dest)
    return dest


@pytest.fixture
def profiles_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "profiles"
    shutil.copytree(bundled_dir("profiles"), dest)
    return dest
