"""`latticework import`: table rows become profile facts through a mapping, checked whole
before anything is written, and only the figures that differ are rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import bundled_dir
from engine.authoring.importer import load_mapping
from engine.errors import display_path
from engine.loader import load_profile
from engine.rule_loader import load_ruleset

from .helpers import run_cli as run

HEADER = "country,iso3,year,troops_active_duty,dod_civilians\n"

TESTLAND = """\
# Testland: a profile with comments the import must keep
country: testland
name: Testland
as_of: 2022-07-01
iso3: JPN
commitment:
  tier: bilateral-treaty   # the 1960 treaty
unknown:
  forces.troops_permanent: no DMDC figure had been looked up yet
  forces.presence: nobody has looked into this yet
"""

OTHERLAND = """\
country: otherland
name: Otherland
as_of: 2022-07-01
iso3: POL
commitment:
  tier: collective-defence
forces:
  troops_permanent:
    value: 100
    source: dmdc-troopdata
    confidence: found-in-public-text
    period: "2022"
"""

# no iso3: a table can never match it
NOCODE = """\
country: nocode
name: Nocode
as_of: 2022-07-01
commitment:
  tier: none
"""




@pytest.fixture(scope="module")
def catalog():
    return load_ruleset(bundled_dir("rules")).catalog


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "testland@2022.yaml").write_text(TESTLAND)
    (d / "otherland@2022.yaml").write_text(OTHERLAND)
    (d / "nocode@2022.yaml").write_text(NOCODE)
    return d


def table(tmp_path: Path, *rows: str, name: str = "troops.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of a directory, hidden ones too: a stray temporary file shows here."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def do_import(t: Path, profiles: Path, *extra: str):
    return run("import", "troops", str(t), "--profiles", str(profiles), *extra)


GOOD_ROWS = (
    "Japan,JPN,2022,53973,1000",
    "Poland,POL,2022,100,50",  # the figure otherland already holds
    "Japan,JPN,2021,55000,1100",  # another year: matches no profile here
)


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path, profiles):
    t = table(tmp_path, *GOOD_ROWS)
    before = snapshot(profiles)
    result = do_import(t, profiles, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{t}: 3 rows, 2 profiles matched (troops mapping)\n"
        "testland@2022 (JPN 2022) forces.troops_permanent: unknown -> 53973 [line 2]\n"
        "1 fact would change (dry run: nothing written)\n"
    )
    assert snapshot(profiles) == before


def test_import_writes_the_fact_keeps_comments_and_clears_unknown(tmp_path, profiles, catalog):
    t = table(tmp_path, *GOOD_ROWS)
    other_before = (profiles / "otherland@2022.yaml").read_bytes()
    result = do_import(t, profiles)
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "testland@2022 (JPN 2022) forces.troops_permanent: unknown -> 53973 [line 2]\n"
        "1 fact changed\n")

    path = profiles / "testland@2022.yaml"
    text = path.read_text()
    assert "# Testland: a profile with comments the import must keep" in text
    assert "# the 1960 treaty" in text
    p = load_profile(path, catalog).profile  # still a valid profile
    fact = p.forces.troops_permanent
    assert fact.value == 53973
    assert fact.source == "dmdc-troopdata"
    assert fact.period == "2022"
    md = load_mapping(bundled_dir("rules"), "troops", catalog).doc
    fm = md.fields["forces.troops_permanent"]
    assert fact.confidence == fm.confidence
    assert fact.note == " ".join(fm.note.split()).format(year=2022, edition=md.edition)
    assert "2022" in fact.note
    # the field is known now, so no longer listed as unknown; the other entry stays
    assert "forces.troops_permanent" not in p.unknown
    assert p.unknown == {"forces.presence": "nobody has looked into this yet"}
    # a profile whose figure already agrees is not rewritten at all
    assert (profiles / "otherland@2022.yaml").read_bytes() == other_before
    assert not [f for f in profiles.iterdir() if f.name.startswith(".")]


def test_unknown_section_disappears_with_its_last_entry(tmp_path, profiles, catalog):
    (profiles / "testland@2022.yaml").write_text(TESTLAND.replace(
        "  forces.presence: nobody has looked into this yet\n", ""))
    result = do_import(table(tmp_path, "Japan,JPN,2022,7,0"), profiles)
    assert result.exit_code == 0, result.output
    text = (profiles / "testland@2022.yaml").read_text()
    assert "unknown" not in text
    p = load_profile(profiles / "testland@2022.yaml", catalog).profile
    assert p.unknown == {} and p.forces.troops_permanent.value == 7


def test_importing_the_same_table_again_changes_nothing(tmp_path, profiles):
    t = table(tmp_path, *GOOD_ROWS)
    assert do_import(t, profiles).exit_code == 0
    after_first = snapshot(profiles)
    again = do_import(t, profiles)
    assert again.exit_code == 0, again.output
    assert again.output == f"{t}: 3 rows, 2 profiles matched (troops mapping)\nno fact changed\n"
    assert snapshot(profiles) == after_first


def test_changing_one_row_changes_exactly_one_fact(tmp_path, profiles, catalog):
    assert do_import(table(tmp_path, *GOOD_ROWS), profiles).exit_code == 0
    before = snapshot(profiles)
    changed = table(tmp_path, GOOD_ROWS[0], "Poland,POL,2022,9876,50", GOOD_ROWS[2],
                    name="troops-v2.csv")
    result = do_import(changed, profiles, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["changes"] == [{
        "profile": "otherland@2022", "iso3": "POL", "year": 2022,
        "field": "forces.troops_permanent", "old": 100, "new": 9876, "row": 3,
    }]
    assert data["written"] is True
    after = snapshot(profiles)
    assert {name for name in after if after[name] != before[name]} == {"otherland@2022.yaml"}
    assert load_profile(profiles / "otherland@2022.yaml", catalog).profile \
        .forces.troops_permanent.value == 9876


def test_a_row_of_another_year_does_not_match(tmp_path, profiles):
    before = snapshot(profiles)
    t = table(tmp_path, "Japan,JPN,2021,55000,1100", "Poland,POL,2023,5,5")
    result = do_import(t, profiles)
    assert result.exit_code == 0, result.output
    assert result.output == f"{t}: 2 rows, 0 profiles matched (troops mapping)\nno fact changed\n"
    assert snapshot(profiles) == before


def test_unmapped_columns_are_not_checked(tmp_path, profiles):
    result = do_import(table(tmp_path, "Japan,JPN,2022,53973,n/a"), profiles, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "unknown -> 53973" in result.output


def bad_table_cases():
    return {
        "missing-column": (
            "country,iso3,year,troops_active,dod_civilians\n",
            ["Japan,JPN,2022,53973,1000"],
            [(1, "field 'troops_active_duty': expected a column 'troops_active_duty'",
              "did you mean 'troops_active'?", "[missing-column]")],
        ),
        "bad-figure": (
            HEADER,
            ["Japan,JPN,2022,53973,1000", "Poland,POL,2022,many,50"],
            [(3, "field 'troops_active_duty': expected a whole number from 0 to 10000000 (for forces.troops_permanent), "
              "found the text 'many'", "[bad-figure]")],
        ),
        "negative-figure": (
            HEADER,
            ["Japan,JPN,2022,-5,1000"],
            [(2, "field 'troops_active_duty': expected a whole number from 0 to 10000000 (for forces.troops_permanent), "
              "found the text '-5'", "[bad-figure]")],
        ),
        "empty-cell": (
            HEADER,
            ["Japan,JPN,2022,,1000"],
            [(2, "expected a whole number from 0 to 10000000 (for forces.troops_permanent), found an empty cell", "[bad-figure]")],
        ),
        "figure-above-the-field's-range": (
            HEADER,
            ["Japan,JPN,2022,99999999,1000"],
            [(2, "field 'troops_active_duty': expected a whole number from 0 to 10000000 (for forces.troops_permanent), found the text '99999999'", "[bad-figure]")],
        ),
        "unknown-iso-code": (
            HEADER,
            ["Japan,JPN,2022,53973,1000", "Nowhere,XXQ,2022,5,5"],
            [(3, "field 'iso3': expected an ISO 3166-1 alpha-3 country code, "
              "found the text 'XXQ'", "[unknown-iso-code]")],
        ),
        "duplicate-row": (
            HEADER,
            ["Japan,JPN,2022,53973,1000", "Poland,POL,2022,100,50", "Japan,JPN,2022,1,1"],
            [(4, "JPN 2022 already has a row at line 2", "[duplicate-row]")],
        ),
    }


@pytest.mark.parametrize("case", sorted(bad_table_cases()))
def test_a_bad_table_is_refused_with_file_and_line(tmp_path, profiles, case):
    header, rows, expected = bad_table_cases()[case]
    t = table(tmp_path, *rows, header=header)
    before = snapshot(profiles)
    result = do_import(t, profiles)
    assert result.exit_code == 2, result.output
    (line, *parts), = expected
    assert result.output.startswith(f"Error: {display_path(t)}, line {line}: ")
    for part in parts:
        assert part in result.output
    assert result.output.count("\n") == 1  # one problem, one message
    assert snapshot(profiles) == before


def test_every_problem_of_a_table_is_reported_at_once(tmp_path, profiles):
    t = table(tmp_path,
              "Japan,JPN,2022,53973,1000",
              "Nowhere,XXQ,2022,5,5",
              "Poland,POL,2022,lots,50",
              "Japan,JPN,2022,1,1")
    before = snapshot(profiles)
    result = do_import(t, profiles)
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "Error: 3 problems found:"
    f = display_path(t)
    assert lines[1].startswith(f"- {f}, line 3: field 'iso3'") and "[unknown-iso-code]" in lines[1]
    assert lines[2].startswith(f"- {f}, line 4: field 'troops_active_duty'") \
        and "[bad-figure]" in lines[2]
    assert lines[3] == f"- {f}, line 5: JPN 2022 already has a row at line 2 [duplicate-row]"
    assert len(lines) == 4
    assert snapshot(profiles) == before


def test_an_unknown_mapping_is_a_clear_error(tmp_path, profiles):
    t = table(tmp_path, *GOOD_ROWS)
    before = snapshot(profiles)
    result = run("import", "troop", str(t), "--profiles", str(profiles))
    assert result.exit_code == 2
    path = bundled_dir("rules") / "imports" / "troop.yaml"
    assert result.output == (f"Error: {display_path(path)}: no mapping named 'troop'; "
                             "did you mean 'troops'? [unknown-mapping]\n")
    assert snapshot(profiles) == before


def test_a_broken_profile_stops_the_import(tmp_path, profiles):
    (profiles / "broken@2022.yaml").write_text("country: [\n")
    before = snapshot(profiles)
    result = do_import(table(tmp_path, *GOOD_ROWS), profiles)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {display_path(profiles / 'broken@2022.yaml')}")
    assert "[yaml-syntax]" in result.output
    assert snapshot(profiles) == before  # testland's figure was not written either


def test_json_output(tmp_path, profiles):
    t = table(tmp_path, *GOOD_ROWS)
    dry = do_import(t, profiles, "--format", "json", "--dry-run")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.output)
    assert set(data) == {"mapping", "table", "rows", "matched", "changes", "written"}
    assert data["mapping"] == "troops"
    assert data["table"] == str(t)
    assert data["rows"] == 3 and data["matched"] == 2
    assert data["changes"] == [{
        "profile": "testland@2022", "iso3": "JPN", "year": 2022,
        "field": "forces.troops_permanent", "old": None, "new": 53973, "row": 2,
    }]
    assert data["written"] is False
    real = json.loads(do_import(t, profiles, "--format", "json").output)
    assert real["changes"] == data["changes"] and real["written"] is True
    again = json.loads(do_import(t, profiles, "--format", "json").output)
    assert again["changes"] == [] and again["written"] is False


def test_a_country_listed_under_two_names_counts_once(tmp_path, profiles):
    """DMDC's compilation lists some countries under an old and a new name and fills the
    unused name with zeros: the troops mapping accepts that twin, in either order."""
    t = table(tmp_path, "Nippon,JPN,2022,0,0", "Japan,JPN,2022,53973,1000",
              "Poland,POL,2022,100,50", "Polska,POL,2022,0,0")
    result = do_import(t, profiles, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "testland@2022 (JPN 2022) forces.troops_permanent: unknown -> 53973 [line 3]" \
        in result.output
    assert "1 fact would change" in result.output


def test_two_figures_for_one_country_and_year_still_conflict(tmp_path, profiles):
    t = table(tmp_path, "Japan,JPN,2022,0,0", "Japan,JPN,2022,53973,1000",
              "Nippon,JPN,2022,12,0")
    before = snapshot(profiles)
    result = do_import(t, profiles)
    assert result.exit_code == 2
    assert "line 4: JPN 2022 already has a row at line 3 [duplicate-row]" in result.output
    assert snapshot(profiles) == before
