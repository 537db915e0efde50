"""Dated facts must say which period they describe, a period no later than as_of and no
older than the field's shelf life; `unknown:` names real fields the profile leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import bundled_dir
from engine.errors import LoadErrors
from engine.errors import display_path
from engine.loader import load_profile
from engine.rule_loader import load_ruleset

from .helpers import run_cli

HEAD = """\
country: testland
name: Testland
as_of: 2022-07-01
iso3: JPN
commitment:
  tier: bilateral-treaty
"""


@pytest.fixture(scope="module")
def catalog():
    return load_ruleset(bundled_dir("rules")).catalog


def write(tmp_path: Path, body: str, name: str = "testland@2022.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def problems(path: Path, catalog) -> list:
    with pytest.raises(LoadErrors) as info:
        load_profile(path, catalog)
    return info.value.errors


def only(path: Path, catalog):
    (error,) = problems(path, catalog)
    return error


def loads(path: Path, catalog):
    return load_profile(path, catalog).profile


def test_a_dated_fact_without_period(tmp_path, catalog):
    path = write(tmp_path, "forces:\n  troops_permanent: 5000\n")
    e = only(path, catalog)
    assert e.code == "missing-period"
    assert e.field == "forces.troops_permanent.period"
    assert e.line == line_of(path, "troops_permanent")
    assert e.message.startswith(f"{display_path(path)}, line {e.line}: field "
                                "'forces.troops_permanent.period': expected the year or years")


def test_a_dated_fact_in_full_form_without_period(tmp_path, catalog):
    path = write(tmp_path, "alignment:\n  defence_spending_gdp:\n    value: 2.1\n"
                           "    source: dmdc-troopdata\n")
    e = only(path, catalog)
    assert (e.code, e.field) == ("missing-period", "alignment.defence_spending_gdp.period")
    assert e.line == line_of(path, "defence_spending_gdp")


def test_an_undated_field_needs_no_period(tmp_path, catalog):
    path = write(tmp_path, "forces:\n  presence: permanent\n")
    assert loads(path, catalog).forces.presence.value.value == "permanent"


@pytest.mark.parametrize("period", ["2023", "2021-2023", "2023-2024"])
def test_a_period_ending_after_as_of_is_a_future_fact(tmp_path, catalog, period):
    path = write(tmp_path, f"forces:\n  troops_permanent:\n    value: 5000\n"
                           f"    period: \"{period}\"\n")
    e = only(path, catalog)
    assert e.code == "future-fact"
    assert e.field == "forces.troops_permanent.period"
    assert e.line == line_of(path, "period:")
    assert f"found '{period}'" in e.message
    assert "at most 2022 (the profile is as of 2022-07-01)" in e.message


def dated_fact(tmp_path, field: str, period: str):
    """A profile whose only dated fact is ``field``, describing ``period``."""
    section, name = field.split(".")
    value = "true" if section == "alignment" else "5000"
    return write(tmp_path, f"{section}:\n  {name}:\n    value: {value}\n"
                           f"    period: \"{period}\"\n")


@pytest.mark.parametrize("field, period", [
    ("forces.troops_permanent", "2012"),
    ("forces.troops_permanent", "2020"),  # one year of shelf life: 2021 is the oldest
    ("alignment.duplicity", "2001-2021"),  # no shelf life: conduct must be current
    ("alignment.coordinates_with_rival", "2021"),
])
def test_a_period_older_than_the_shelf_life_is_expired(tmp_path, catalog, field, period):
    path = dated_fact(tmp_path, field, period)
    e = only(path, catalog)
    assert e.code == "expired-fact"
    assert e.field == f"{field}.period"
    assert e.line == line_of(path, "period:")
    assert f"found '{period}'" in e.message
    assert "list the field under 'unknown:'" in e.message


@pytest.mark.parametrize("field, period", [
    ("forces.troops_permanent", "2022"),
    ("forces.troops_permanent", "2021"),
    ("forces.troops_permanent", "2018-2021"),
    ("alignment.duplicity", "2022"),
    ("alignment.duplicity", "2001-2022"),
])
def test_a_period_within_the_shelf_life_loads(tmp_path, catalog, field, period):
    section, name = field.split(".")
    path = dated_fact(tmp_path, field, period)
    fact = getattr(getattr(loads(path, catalog), section), name)
    assert fact.period == period


def test_an_unknown_entry_naming_no_field_suggests_the_nearest(tmp_path, catalog):
    path = write(tmp_path, "unknown:\n  forces.troops_permanant: no figure was published\n")
    e = only(path, catalog)
    assert e.code == "unknown-field"
    assert e.field == "unknown.forces.troops_permanant"
    assert e.line == line_of(path, "troops_permanant")
    assert e.suggestion == "forces.troops_permanent"
    assert "did you mean 'forces.troops_permanent'?" in e.message
    assert e.message.endswith("did you mean 'forces.troops_permanent'? [unknown-field]")


def test_a_field_both_known_and_unknown(tmp_path, catalog):
    path = write(tmp_path, "forces:\n  presence: permanent\n"
                           "unknown:\n  forces.presence: nobody has checked this yet\n")
    e = only(path, catalog)
    assert e.code == "known-and-unknown"
    assert e.field == "unknown.forces.presence"
    assert e.line == line_of(path, "forces.presence:")


def test_an_unknown_field_with_a_reason_loads(tmp_path, catalog):
    path = write(tmp_path, "unknown:\n  forces.troops_permanent: no figure was published\n")
    assert loads(path, catalog).unknown == {"forces.troops_permanent": "no figure was published"}


def test_every_problem_of_a_profile_is_reported_together(tmp_path, catalog):
    path = write(tmp_path, """\
forces:
  troops_permanent: 5000
  troops_rotational:
    value: 300
    period: "2023"
alignment:
  duplicity:
    value: true
    period: 2001-2021
unknown:
  forces.presense: not looked up yet
""")
    assert sorted(e.code for e in problems(path, catalog)) == [
        "expired-fact", "future-fact", "missing-period", "unknown-field"]


def test_validate_names_file_line_and_field(tmp_path):
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "good@2022.yaml").write_text(HEAD.replace("testland", "good").replace("Testland",
                                                                                "Good"))
    path = write(d, """\
forces:
  troops_permanent: 5000
  troops_rotational:
    value: 300
    period: "2023"
cooperation:
  security_assistance_usd_m:
    value: 40
    period: "2012"
alignment:
  duplicity:
    value: true
    period: 2001-2021
  hedging: active
unknown:
  alignment.hedgin: never coded for this partner
  alignment.hedging: never coded for this partner
""")
    result = run_cli("validate", "--profiles", str(d))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "6 problems found:"
    f = display_path(path)
    expected = [
        (line_of(path, "troops_permanent"), "forces.troops_permanent.period", "missing-period"),
        (line_of(path, '"2023"'), "forces.troops_rotational.period", "future-fact"),
        (line_of(path, '"2012"'), "cooperation.security_assistance_usd_m.period",
         "expired-fact"),
        (line_of(path, "2001-2021"), "alignment.duplicity.period", "expired-fact"),
        (line_of(path, "alignment.hedgin:"), "unknown.alignment.hedgin", "unknown-field"),
        (line_of(path, "alignment.hedging:"), "unknown.alignment.hedging", "known-and-unknown"),
    ]
    assert len(lines) == 1 + len(expected)
    for line, (n, field, code) in zip(lines[1:], expected, strict=True):
        assert line.startswith(f"- {f}, line {n}: field '{field}': "), line
        assert line.endswith(f"[{code}]"), line
    assert "did you mean 'alignment.hedging'?" in lines[5]
    assert "good@2022" not in result.output
