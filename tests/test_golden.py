"""Every bundled profile renders byte for byte as recorded in tests/golden/.

A restructuring must leave these files alone; a change of model or rendering
changes them, and the regenerated files (``make golden``) go in the same commit.
"""

from __future__ import annotations

import difflib

import pytest

from tests.golden import DIGESTS
from tests.golden import GOLDEN
from tests.golden import current


@pytest.fixture(scope="module")
def outputs():
    return current()


def test_batch_outputs_match_the_recorded_files(outputs):
    whole, _ = outputs
    for name, text in whole.items():
        recorded = (GOLDEN / name).read_text(encoding="utf-8")
        diff = "".join(difflib.unified_diff(recorded.splitlines(True), text.splitlines(True),
                                            f"recorded {name}", f"current {name}", n=1))
        assert text == recorded, f"{name} differs (run make golden if intended):\n{diff[:3000]}"


def test_every_explanation_matches_its_recorded_digest(outputs):
    _, digests = outputs
    recorded = (GOLDEN / DIGESTS).read_text(encoding="utf-8").splitlines()
    moved = sorted(set(digests.splitlines()) ^ set(recorded))
    assert not moved, "outputs differ from tests/golden (run make golden if intended):\n" + \
        "\n".join(moved[:40])
