"""Calibration: the documents' judgments hold, and a broken judgment is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from engine import bundled_dir

from . import yaml_writer
from .helpers import run_cli as run


def test_every_judgment_of_the_documents_holds():
    result = run("calibrate", "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = json.loads(result.stdout)
    assert len(outcomes) >= 15
    failing = [o["id"] for o in outcomes if not o["holds"]]
    assert failing == []
    documents = ("partnerships-2022", "allied-empowerment-2022")
    from_documents = [o for o in outcomes if o["source"].split("#")[0] in documents]
    assert len(from_documents) >= 15 and all("#" in o["source"] for o in from_documents)
    # the specialist's judgments rest on a public record, and say which facts
    data = YAML(typ="safe", pure=True).load((bundled_dir("rules") / "calibration.yaml").read_text())
    for j in data["judgments"]:
        if j["source"]["id"] not in documents:
            assert len(j.get("basis", "")) > 40, j["id"]


def calibration_copy(tmp_path: Path) -> tuple[Path, dict]:
    rules = tmp_path / "rules"
    shutil.copytree(bundled_dir("rules"), rules)
    data = YAML(typ="safe", pure=True).load((rules / "calibration.yaml").read_text())
    return rules, data


def test_a_judgment_that_fails_exits_1_and_says_which(tmp_path: Path):
    rules, data = calibration_copy(tmp_path)
    data["judgments"].append({
        "id": "backwards", "claim": "Partnership deters more than Article 5 (false).",
        "source": {"id": "partnerships-2022", "section": "dangerous-halfway-houses"},
        "checks": [{"left": {"profile": "finland@2021", "score": "deterrence"}, "op": ">",
                    "right": {"profile": "finland@2023", "score": "deterrence"}}],
    })
    yaml_writer.dump(data, rules / "calibration.yaml")
    result = run("calibrate", "--rules", str(rules))
    assert result.exit_code == 1
    assert "FAILS  backwards:" in result.output
    n = len(data["judgments"])
    assert f"{n - 1} of {n} judgments hold" in result.output


def test_a_malformed_calibration_file_is_an_input_error(tmp_path: Path):
    rules, data = calibration_copy(tmp_path)
    data["judgments"][0]["checks"][0]["right"] = {"band": "mighty"}
    data["judgments"][1]["source"]["section"] = "nowhere"
    yaml_writer.dump(data, rules / "calibration.yaml")
    result = run("calibrate", "--rules", str(rules))
    assert result.exit_code == 2
    assert "[unknown-band]" in result.output and "[unknown-section]" in result.output
