"""Editions: a ranking holds the latest snapshot of each country, one edition, or every
snapshot, and always says which."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine.batch import select_snapshots
from engine.results import Selection

from .helpers import run_cli as run

D = Path("profiles")
A21, A22 = D / "a@2021.yaml", D / "a@2022.yaml"
B22, B24 = D / "b@2022.yaml", D / "b@2024.yaml"
C24 = D / "c@2024.yaml"
ODD = D / "notes.yaml"  # not named as a key: loading must get to report it
PATHS = [A21, A22, B22, B24, C24, ODD]


def test_default_keeps_the_latest_snapshot_of_each_country_and_the_odd_file():
    chosen, sel = select_snapshots(PATHS)
    assert list(chosen) == [A22, B24, C24, ODD]
    assert sel == Selection("latest", None, 4, 6)
    assert sel.describe() == ("the latest snapshot of each country: 4 of 6 snapshots "
                              "(--as-of YEAR ranks one edition, --all every snapshot)")


def test_an_edition_keeps_the_profiles_dated_in_its_year_and_the_odd_file():
    chosen, sel = select_snapshots(PATHS, edition=2022)
    assert list(chosen) == [A22, B22, ODD]
    assert sel == Selection("edition", 2022, 3, 6)
    assert sel.describe() == "the 2022 edition: 3 of 6 snapshots (profiles dated 2022)"


def test_an_edition_no_profile_has_keeps_only_the_odd_file():
    chosen, sel = select_snapshots(PATHS, edition=2023)
    assert list(chosen) == [ODD]
    assert (sel.profiles, sel.snapshots) == (1, 6)


def test_every_snapshot_keeps_everything():
    chosen, sel = select_snapshots(PATHS, every_snapshot=True)
    assert list(chosen) == PATHS
    assert sel == Selection("all", None, 6, 6)
    assert sel.describe().startswith("every snapshot: 6 profiles")


def test_the_latest_does_not_depend_on_the_order_of_the_files():
    chosen, _ = select_snapshots(list(reversed(PATHS)))
    assert sorted(chosen) == sorted([A22, B24, C24, ODD])


def test_an_edition_and_every_snapshot_exclude_each_other():
    with pytest.raises(ValueError):
        select_snapshots(PATHS, edition=2022, every_snapshot=True)


# --- the batch command ------------------------------------------------------------------------


def profile_text(year: int, tier: str) -> str:
    return (f"country: testland\nname: Testland\nas_of: {year}-07-01\niso3: JPN\n"
            f"commitment:\n  tier: {tier}\n")


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "testland@2021.yaml").write_text(profile_text(2021, "strategic-partnership"))
    (d / "testland@2022.yaml").write_text(profile_text(2022, "bilateral-treaty"))
    return d




def batch(profiles: Path, *args: str):
    return run("batch", "--profiles", str(profiles), *args)


def test_batch_ranks_the_latest_snapshot_and_says_so(profiles):
    result = batch(profiles)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == ("Ranking the latest snapshot of each country: 1 of 2 snapshots "
                     "(--as-of YEAR ranks one edition, --all every snapshot)")
    assert "testland@2022" in result.output
    assert "testland@2021" not in result.output


def test_batch_as_of_ranks_one_edition(profiles):
    result = batch(profiles, "--as-of", "2021")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == \
        "Ranking the 2021 edition: 1 of 2 snapshots (profiles dated 2021)"
    assert "testland@2021" in result.output
    assert "testland@2022" not in result.output


def test_batch_all_ranks_every_snapshot(profiles):
    result = batch(profiles, "--all")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("Ranking every snapshot: 2 profiles")
    assert "testland@2021" in result.output and "testland@2022" in result.output


def test_batch_as_of_with_all_is_a_usage_error(profiles):
    result = batch(profiles, "--as-of", "2021", "--all")
    assert result.exit_code == 2
    assert "Error: --as-of and --all exclude each other: choose one edition or all" \
        in result.output


def test_batch_csv_has_unique_headers_and_no_selection_line(profiles):
    result = batch(profiles, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert not result.output.startswith("Ranking")
    reader = csv.reader(io.StringIO(result.output))
    header = next(reader)
    assert len(header) == len(set(header))
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["profile"] for r in rows] == ["testland@2022"]
    data = json.loads(batch(profiles, "--format", "json").output)
    (scored,) = data["results"]
    # DictReader keeps both bands: neither column overwrote the other
    assert rows[0]["deterrence_band"] == scored["deterrence"]["band"]
    assert rows[0]["alignment_risk_band"] == scored["alignment_risk"]["band"]
    assert rows[0]["deterrence"] == str(scored["deterrence"]["score"])
    assert rows[0]["alignment_risk"] == str(scored["alignment_risk"]["score"])


@pytest.mark.parametrize("args, selection, ranked", [
    ((), {"mode": "latest", "edition": None, "profiles": 1, "snapshots": 2}, ["testland@2022"]),
    (("--as-of", "2021"), {"mode": "edition", "edition": 2021, "profiles": 1, "snapshots": 2},
     ["testland@2021"]),
    (("--all",), {"mode": "all", "edition": None, "profiles": 2, "snapshots": 2},
     ["testland@2021", "testland@2022"]),
])
def test_batch_json_has_a_selection_object(profiles, args, selection, ranked):
    result = batch(profiles, "--format", "json", "--sort", "key", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["selection"] == selection
    assert [r["profile"] for r in data["results"]] == ranked


def test_engine_batch_reports_its_selection(profiles, engine):
    latest = engine.batch(profiles)
    assert [r.profile for r in latest.results] == ["testland@2022"]
    assert latest.selection == Selection("latest", None, 1, 2)
    old = engine.batch(profiles, edition=2021)
    assert [r.profile for r in old.results] == ["testland@2021"]
    assert old.selection == Selection("edition", 2021, 1, 2)
