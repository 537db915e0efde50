"""End-to-end cases as data, as OPA keeps its test cases: ``tests/cases/<kind>/*.yaml``.

Each file is one :class:`Case`: an input (a profile file, or a rule file added to a copy
of the bundled rules), a command, and what the command must do: ``want_exit``, or
``want_error_code`` (a member of the error registry) with its line and message
fragments, or ``want_result`` (values in the command's JSON output, by dotted path) and
``want_lines`` (lines the text output must hold, whole).

* ``profiles/``: a profile file given to ``score`` (the default command);
* ``rules/``: a rule file added to the bundled rules, loaded by ``rules list``;
* ``explanations/``: golden excerpts of a bundled profile's explanation.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import model_validator
from ruamel.yaml import YAML

from engine import bundled_dir
from engine.errors import ErrorCode

from .helpers import run_cli

ROOT = Path(__file__).parent / "cases"
KINDS = ("profiles", "rules", "explanations")
DEFAULT_COMMAND = {"profiles": ["score", "{input}"], "rules": ["rules", "list", "--rules", "{rules}"],
                   "explanations": []}


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    input: str | None = None
    input_base64: str | None = None
    command: list[str] | None = None
    want_exit: int | None = None
    want_error_code: ErrorCode | None = None
    want_line: int | None = None
    want_in_message: list[str] = []
    want_not_in_message: list[str] = []
    want_result: dict[str, Any] = {}
    want_lines: list[str] = []

    @model_validator(mode="after")
    def one_outcome(self) -> Case:
        if (self.want_error_code is None) == (self.want_exit is None):
            raise ValueError("a case wants either an exit code (want_exit) or an error code "
                             "(want_error_code), not both and not neither")
        if self.want_error_code is not None and (self.want_result or self.want_lines):
            raise ValueError("a case that wants an error has no result to check")
        return self


def load_case(path: Path) -> Case:
    return Case.model_validate(YAML(typ="safe", pure=True).load(path.read_text()))


CASES = sorted(p for kind in KINDS for p in (ROOT / kind).glob("*.yaml"))


def dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest.mark.parametrize("case_path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_case(case_path: Path, tmp_path: Path):
    kind = case_path.parent.name
    case = load_case(case_path)
    slots = {"input": "", "rules": ""}
    if kind == "rules":
        rules = tmp_path / "rules"
        shutil.copytree(bundled_dir("rules"), rules)
        target = rules / "zz-case.yaml"
        slots["rules"] = str(rules)
    else:
        target = tmp_path / "input.yaml"
    if case.input_base64 is not None:
        target.write_bytes(base64.b64decode(case.input_base64))
    elif case.input is not None:
        target.write_text(case.input, encoding="utf-8")
    slots["input"] = str(target)
    command = [arg.format(**slots) for arg in (case.command or DEFAULT_COMMAND[kind])]
    result = run_cli(*command, env={"COLUMNS": "120", "NO_COLOR": "1"})
    output = result.output
    assert "Traceback" not in output
    if case.want_error_code is not None:
        assert result.exit_code == 2, output
        assert isinstance(result.exception, SystemExit), result.exception
        assert f"[{case.want_error_code}]" in output
        assert str(target) in output or kind == "explanations"
        if case.want_line is not None:
            assert f"{target}, line {case.want_line}:" in output
    else:
        assert result.exit_code == case.want_exit, output
    for fragment in case.want_in_message:
        assert fragment in output, fragment
    for fragment in case.want_not_in_message:
        assert fragment not in output, fragment
    for dotted, want in case.want_result.items():
        assert dig(json.loads(output), dotted) == want, dotted
    lines = output.splitlines()
    for line in case.want_lines:
        assert line in lines, f"no line {line!r} in:\n{output}"


def test_every_kind_has_cases():
    for kind in KINDS:
        assert list((ROOT / kind).glob("*.yaml")), kind


def test_a_case_with_two_outcomes_or_an_unregistered_code_is_refused():
    with pytest.raises(ValueError, match="either an exit code"):
        Case.model_validate({"description": "x", "want_exit": 0, "want_error_code": "wrong-type"})
    with pytest.raises(ValueError):
        Case.model_validate({"description": "x", "want_error_code": "no-such-code"})
