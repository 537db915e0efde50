"""`profiles completeness`: per profile, the fields the rules read, how many are known, and
why the rest are unknown; and `schema profile`, the profile model as JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine.fields import FieldSpec
from engine.profile import CommitmentTier

from . import yaml_writer
from .helpers import run_cli as run

REASON = "SIPRI records no deliveries at all in the window"




def some_value(spec: FieldSpec) -> Any:
    if spec.kind == "enum":
        return spec.values[-1]
    if spec.kind == "bool":
        return False
    if spec.kind == "int":
        return int(spec.ge or 0)
    if spec.kind == "number":
        return float(spec.ge or 0)
    return "text"


def profile_data(country: str, year: int, specs: list[FieldSpec],
                 unknown: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"country": country, "name": country.title(),
                            "as_of": dt.date(year, 7, 1), "commitment": {"tier": "none"}}
    for spec in specs:
        value = some_value(spec)
        if spec.max_age is not None:
            value = {"value": value, "period": str(year)}
        if "." in spec.path:
            section, name = spec.path.split(".")
            data.setdefault(section, {})[name] = value
        else:
            data[spec.path] = value
    if unknown:
        data["unknown"] = unknown
    return data


@pytest.fixture(scope="module")
def read(reference_engine) -> list[FieldSpec]:
    return list(reference_engine.ruleset.fields_read)


def by_path(read: list[FieldSpec], *paths: str) -> list[FieldSpec]:
    out = [s for s in read if s.path in paths]
    assert len(out) == len(paths), "the bundled rules no longer read a field this test sets"
    return out


@pytest.fixture
def profiles(tmp_path: Path, read) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    # partial: the tier and the presence known, one unknown with its reason
    yaml_writer.dump(profile_data("partial", 2022, by_path(read, "commitment.tier",
                                                           "forces.presence"),
                                  {"dependence.arms_china_share": REASON}),
                     d / "partial@2022.yaml")
    # full: every field the rules read
    yaml_writer.dump(profile_data("full", 2022, read), d / "full@2022.yaml")
    # older: the tier only
    yaml_writer.dump(profile_data("older", 2021, []), d / "older@2021.yaml")
    return d


def completeness_json(profiles: Path, *args: str) -> dict[str, Any]:
    result = run("profiles", "completeness", "--profiles", str(profiles), "--format", "json",
                 *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_completeness_json_counts_known_fields_and_gives_reasons(profiles, read):
    data = completeness_json(profiles)
    assert set(data) == {"profiles"}
    reports = {p["profile"]: p for p in data["profiles"]}
    assert [p["profile"] for p in data["profiles"]] == ["full@2022", "older@2021", "partial@2022"]
    for p in data["profiles"]:
        assert set(p) == {"profile", "read", "known", "share", "unknown"}
        assert p["read"] == len(read)
        for u in p["unknown"]:
            assert set(u) == {"field", "reason"}

    partial = reports["partial@2022"]
    assert partial["known"] == 2
    assert partial["share"] == round(2 / len(read), 2)
    expected = [s.path for s in read if s.path not in ("commitment.tier", "forces.presence")]
    assert [u["field"] for u in partial["unknown"]] == expected  # in model order
    reasons = {u["field"]: u["reason"] for u in partial["unknown"]}
    assert reasons.pop("dependence.arms_china_share") == REASON
    assert set(reasons.values()) == {None}  # no reason given: null, never a made-up one

    full = reports["full@2022"]
    assert (full["known"], full["share"], full["unknown"]) == (len(read), 1.0, [])

    older = reports["older@2021"]
    assert older["known"] == 1
    assert len(older["unknown"]) == len(read) - 1


def test_completeness_as_of_filters_one_edition(profiles):
    assert [p["profile"] for p in completeness_json(profiles, "--as-of", "2021")["profiles"]] \
        == ["older@2021"]
    assert [p["profile"] for p in completeness_json(profiles, "--as-of", "2022")["profiles"]] \
        == ["full@2022", "partial@2022"]
    assert completeness_json(profiles, "--as-of", "2030") == {"profiles": []}


def test_min_share_exits_1_when_a_profile_is_below(profiles):
    result = run("profiles", "completeness", "--profiles", str(profiles), "--min-share", "0.9")
    assert result.exit_code == 1
    assert "3 profiles; 2 below 90% (marked *)" in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if "@" in line}
    assert "*" in lines["partial@2022"] and "*" in lines["older@2021"]
    assert "*" not in lines["full@2022"]


def test_min_share_exits_0_when_every_profile_is_above(tmp_path, read):
    d = tmp_path / "complete"
    d.mkdir()
    yaml_writer.dump(profile_data("full", 2022, read), d / "full@2022.yaml")
    # nearly complete: one field left unknown, with its reason
    missing = read[-1]
    assert missing.path != "commitment.tier"
    yaml_writer.dump(profile_data("nearly", 2022, read[:-1], {missing.path: REASON}),
                     d / "nearly@2022.yaml")
    result = run("profiles", "completeness", "--profiles", str(d), "--min-share", "0.9")
    assert result.exit_code == 0, result.output
    assert "2 profiles; 0 below 90% (marked *)" in result.output
    data = completeness_json(d, "--min-share", "0.9")
    nearly = {p["profile"]: p for p in data["profiles"]}["nearly@2022"]
    assert nearly["known"] == len(read) - 1
    assert nearly["unknown"] == [{"field": missing.path, "reason": REASON}]


def test_min_share_counts_only_the_chosen_edition(profiles):
    result = run("profiles", "completeness", "--profiles", str(profiles), "--as-of", "2021",
                 "--min-share", "0.9")
    assert result.exit_code == 1
    result = run("profiles", "completeness", "--profiles", str(profiles), "--as-of", "2030",
                 "--min-share", "0.9")
    assert result.exit_code == 0, result.output


def test_text_report_names_the_unknowns_without_a_reason(profiles):
    result = run("profiles", "completeness", "--profiles", str(profiles))
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("full@2022")]
    assert line.split()[-1] == "-"
    assert result.output.endswith("3 profiles\n")
    edition = run("profiles", "completeness", "--profiles", str(profiles), "--as-of", "2022")
    assert edition.exit_code == 0, edition.output
    # partial gives the reason for this one and none for the others
    assert "dependence.arms_china_share" not in edition.output
    assert "dependence.arms_us_share" in edition.output
    assert edition.output.endswith("2 profiles\n")


def test_a_broken_profile_stops_the_report(profiles):
    (profiles / "broken@2022.yaml").write_text("country: [\n")
    result = run("profiles", "completeness", "--profiles", str(profiles))
    assert result.exit_code == 2
    assert "broken@2022.yaml" in result.output and "[yaml-syntax]" in result.output


# --- schema profile ---------------------------------------------------------------------------


def enums(node: Any):
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for v in node.values():
            yield from enums(v)
    elif isinstance(node, list):
        for v in node:
            yield from enums(v)


def test_schema_profile_is_the_profile_json_schema():
    result = run("schema", "profile")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["type"] == "object"
    assert {"country", "as_of", "commitment", "unknown"} <= set(schema["properties"])
    # what a profile must have, and nothing it may not: a typo is not a silent extra field
    assert {"country", "name", "as_of", "commitment"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert [t.value for t in CommitmentTier] in list(enums(schema))
    assert schema["properties"]["as_of"].get("format") == "date"
