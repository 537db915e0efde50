"""End-to-end cases as data (tests/cases/*.yaml): an input profile file and what the CLI must say.

Each case: ``input`` (text) or ``input_base64`` (bytes), and either ``want_exit: 0`` or
``want_error_code`` with optional ``want_line`` and ``want_in_message`` fragments.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from engine.cli import main

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def load_case(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.mark.parametrize("case_path", CASES, ids=[p.stem for p in CASES])
def test_case(case_path: Path, tmp_path: Path):
    case = load_case(case_path)
    target = tmp_path / "input.yaml"
    if "input_base64" in case:
        target.write_bytes(base64.b64decode(case["input_base64"]))
    else:
        target.write_text(case["input"], encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(target)])
    output = result.output
    assert "Traceback" not in output
    if case.get("want_exit", 2) == 0:
        assert result.exit_code == 0, output
        assert "Testland" in output
        return
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"[{case['want_error_code']}]" in output
    assert str(target) in output
    if "want_line" in case:
        assert f"{target}, line {case['want_line']}:" in output
    for fragment in case.get("want_in_message", []):
        assert fragment in output, fragment


def test_every_case_declares_an_outcome():
    for path in CASES:
        case = load_case(path)
        assert "want_error_code" in case or case.get("want_exit") == 0, path.name
        assert case.get("description"), path.name
