"""Exports: the CSV ranking, the workbook, the SQLite database, DataFrames, scoring by key."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import sqlite3
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas
import pytest

from engine import LatticeworkError
from engine import UnknownProfileError
from engine import bundled_dir
from engine.database import read_database
from engine.database import sqlite_database
from engine.errors import MissingDependencyError
from engine.export import batch_csv
from engine.export import batch_xlsx
from engine.export import ranking_columns

from .helpers import run_cli as run

KEYS = ("germany@2022", "india@2022", "india@2024", "poland@2024")
HOSTILE_NAME = '=HYPERLINK("http://example.invalid","x")'


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    """A few bundled snapshots, two of one country, and one partner whose name a
    spreadsheet would run as a formula."""
    d = tmp_path_factory.mktemp("export") / "profiles"
    d.mkdir()
    for key in KEYS:
        shutil.copy(bundled_dir("profiles") / f"{key}.yaml", d)
    (d / "formulaland@2022.yaml").write_text(
        f"country: formulaland\nname: '{HOSTILE_NAME}'\nas_of: 2022-07-01\n"
        "commitment:\n  tier: bilateral-treaty\n")
    return d


@pytest.fixture(scope="module")
def batch(engine, profiles):
    return engine.batch(profiles, every_snapshot=True)


@pytest.fixture(scope="module")
def loaded(engine, profiles, batch):
    return [engine.find_profile(r.profile, profiles) for r in batch.results]




# --- CSV --------------------------------------------------------------------------------------


def test_csv_columns_are_unique_snake_case_and_name_every_dimension(engine, batch):
    dims = list(engine.ruleset.dimensions)
    header = next(csv.reader(io.StringIO(batch_csv(batch, engine.ruleset))))
    assert header == ["rank", "profile", "country", "name", "as_of", "deterrence",
                      "deterrence_band", "alignment_risk", "alignment_risk_band", *dims,
                      "ruleset"]
    assert all(h.isidentifier() and h == h.lower() for h in header)


def test_csv_has_one_row_per_profile_with_what_the_results_say(engine, batch):
    rows = list(csv.DictReader(io.StringIO(batch_csv(batch, engine.ruleset))))
    assert [r["profile"] for r in rows] == [r.profile for r in batch.results]
    assert len(rows) == len(KEYS) + 1
    for i, (row, r) in enumerate(zip(rows, batch.results, strict=True), 1):
        assert row["rank"] == str(i)
        assert row["country"] == r.country and row["as_of"] == r.as_of.isoformat()
        assert row["deterrence"] == str(r.deterrence.score)
        assert row["deterrence_band"] == r.deterrence.band
        assert row["alignment_risk"] == str(r.alignment_risk.score)
        assert row["alignment_risk_band"] == r.alignment_risk.band
        assert all(row[d] == str(s.score) for d, s in r.dimensions.items())
        assert row["ruleset"] == engine.ruleset.digest


def test_batch_command_prints_the_export_and_escapes_formulas(engine, batch, profiles):
    result = run("batch", "--all", "--format", "csv", "--profiles", profiles)
    assert result.exit_code == 0, result.output
    assert result.output == batch_csv(batch, engine.ruleset)
    names = {r["profile"]: r["name"] for r in csv.DictReader(io.StringIO(result.output))}
    assert names["formulaland@2022"] == "'" + HOSTILE_NAME


def test_a_dimension_named_like_a_fixed_column_keeps_both_columns():
    assert ranking_columns(["name", "dependence", "ruleset"]) == [
        ("dimension_name", "name"), ("dependence", "dependence"),
        ("dimension_ruleset", "ruleset")]


# --- the workbook -----------------------------------------------------------------------------


def _sheets(data: bytes) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}


def test_workbook_holds_ranking_contributions_facts_and_sources(engine, batch, loaded, profiles):
    sheets = _sheets(batch_xlsx(batch, engine, loaded))
    assert list(sheets) == ["ranking", "contributions", "facts", "sources"]
    ranking = sheets["ranking"]
    csv_rows = list(csv.reader(io.StringIO(batch_csv(batch, engine.ruleset))))
    assert ranking[0] == csv_rows[0]
    assert [r[1] for r in ranking[1:]] == [r.profile for r in batch.results]
    assert ranking[1][4] == dt.datetime.combine(batch.results[0].as_of, dt.time())

    contributions = sheets["contributions"]
    assert contributions[0] == ["profile", "score", "rule", "title", "points", "source",
                                "section"]
    for r in batch.results:
        for score in ("deterrence", "alignment_risk", *r.dimensions):
            s = r.target(score)
            points = [row[4] for row in contributions if row[:2] == [r.profile, score]]
            assert s.base + sum(points) + s.adjustment == s.score

    facts = sheets["facts"]
    assert facts[0] == ["profile", "field", "value", "confidence", "source", "note", "period",
                        "unknown_reason"]
    tier = next(row for row in facts if row[:2] == ["india@2022", "commitment.tier"])
    assert tier[2:5] == ["strategic-partnership", "provisional",
                         "us-india-major-defense-partner-2016"]
    india = engine.find_profile("india@2022", profiles).profile
    unknown = [row for row in facts if row[0] == "india@2022" and row[7] is not None]
    assert {row[1] for row in unknown} == set(india.unknown)

    sources = sheets["sources"]
    assert sources[0][:5] == ["id", "title", "authors", "year", "kind"]
    assert {row[0] for row in sources[1:]} == set(engine.ruleset.catalog.entries)


def test_batch_writes_the_workbook_to_the_file_named_and_only_there(profiles, tmp_path):
    out = tmp_path / "ranking.xlsx"
    result = run("batch", "--format", "xlsx", "--profiles", profiles, "-o", out)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["ranking", "contributions", "facts", "sources"]
    ranked = [row[1] for row in book["ranking"].iter_rows(min_row=2, values_only=True)]
    assert ranked == [line.split(",")[1] for line in
                      run("batch", "--format", "csv", "--profiles", profiles).output.splitlines()[1:]]
    refused = run("batch", "--format", "xlsx", "--profiles", profiles)
    assert refused.exit_code == 2
    assert "--format xlsx writes a workbook: name its file with -o FILE" in refused.output


def test_workbook_stores_a_formula_like_name_as_text(engine, batch, loaded):
    book = openpyxl.load_workbook(io.BytesIO(batch_xlsx(batch, engine, loaded)))
    cell = next(row[3] for row in book["ranking"].iter_rows(min_row=2)
                if row[1].value == "formulaland@2022")
    assert cell.value == HOSTILE_NAME and cell.data_type == "s"


def test_workbook_bytes_do_not_depend_on_when_they_are_written(engine, batch, loaded,
                                                               monkeypatch):
    first = batch_xlsx(batch, engine.ruleset, loaded)
    later = time.time() + 3 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert batch_xlsx(batch, engine.ruleset, [lp.profile for lp in loaded]) == first
    stamp = max(r.as_of for r in batch.results).timetuple()[:6]
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {stamp}


def test_workbook_needs_every_scored_profile(engine, batch, loaded):
    with pytest.raises(ValueError, match="no profile given for"):
        batch_xlsx(batch, engine, loaded[:1])


# --- the database -----------------------------------------------------------------------------


def test_export_writes_every_table_and_results_join_rules(profiles, tmp_path, engine):
    out = tmp_path / "model.db"
    result = run("export", "--sqlite", out, "--profiles", profiles)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"{re.escape(str(out))}: 5 profiles, \d+ facts, 40 scores, \d+ "
                        rf"contributions, {len(engine.ruleset.rules)} rules, "
                        rf"{len(engine.ruleset.catalog.entries)} sources\n", result.output)
    db = sqlite3.connect(out)
    try:
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"ruleset", "sources", "rules", "profiles", "facts", "results",
                          "contributions", "errors"}
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        # every score is its base, the points of the rules that fired, and the adjustment
        mismatched = db.execute("""
            SELECT r.profile, r.score FROM results r
            LEFT JOIN contributions c ON c.profile = r.profile AND c.score = r.score
            LEFT JOIN rules ru ON ru.id = c.rule
            GROUP BY r.profile, r.score
            HAVING r.base + COALESCE(SUM(c.points), 0) + r.adjustment != r.value
                OR COUNT(c.rule) != COUNT(ru.id)""").fetchall()
        assert mismatched == []
        titles = db.execute("""
            SELECT c.rule, ru.title, ru.source FROM contributions c JOIN rules ru ON ru.id = c.rule
            WHERE c.profile = 'india@2022' AND c.score = 'deterrence' ORDER BY c.rule""").fetchall()
        india = engine.score("india@2022", profiles)
        assert titles == sorted((c.rule, c.title, c.source.id)
                                for c in india.deterrence.contributions)
        assert db.execute("SELECT value, band FROM results WHERE profile = 'india@2022' "
                          "AND score = 'alignment_risk'").fetchone() == (
            india.alignment_risk.score, india.alignment_risk.band)
        share = db.execute("SELECT value, number, source FROM facts WHERE profile = "
                           "'india@2022' AND field = 'dependence.arms_russia_share'").fetchone()
        assert share[1] == float(share[0]) and share[2]
        assert db.execute("SELECT digest FROM ruleset").fetchone() == (engine.ruleset.digest,)
        assert db.execute("SELECT count(*) FROM errors").fetchone() == (0,)
    finally:
        db.close()


def test_the_same_inputs_give_the_same_database(engine, profiles):
    assert sqlite_database(engine, profiles).data == sqlite_database(engine, profiles).data


def test_a_broken_profile_is_listed_and_the_others_exported(profiles, tmp_path):
    broken = tmp_path / "profiles"
    shutil.copytree(profiles, broken)
    (broken / "brokenland@2022.yaml").write_text("country: brokenland\nname: [\n")
    out = tmp_path / "model.db"
    result = run("export", "--sqlite", out, "--profiles", broken)
    assert result.exit_code == 1
    assert "brokenland@2022.yaml" in result.output
    db = read_database(out.read_bytes())
    try:
        assert [s for (s,) in db.execute("SELECT source FROM errors")] == [
            str(broken / "brokenland@2022.yaml")]
        assert db.execute("SELECT count(*) FROM profiles").fetchone() == (len(KEYS) + 1,)
    finally:
        db.close()


def test_export_refuses_standard_output_and_an_input_before_any_work(profiles, tmp_path):
    result = run("export", "--sqlite", "-", "--profiles", profiles)
    assert result.exit_code == 2 and "cannot go to standard output" in result.output
    inside = profiles / "model.db"
    result = run("export", "--sqlite", inside, "--profiles", profiles)
    assert result.exit_code == 2 and "output-is-input" in result.output
    assert not inside.exists()


def test_export_replaces_an_existing_file_whole(profiles, tmp_path):
    out = tmp_path / "model.db"
    out.write_bytes(b"not a database")
    out.chmod(0o640)
    assert run("export", "--sqlite", out, "--profiles", profiles).exit_code == 0
    assert out.read_bytes().startswith(b"SQLite format 3\x00")
    assert out.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.db"]  # no temporary file left


# --- the Python API ---------------------------------------------------------------------------


def test_score_takes_a_key_a_path_or_a_profile(engine, profiles):
    path = bundled_dir("profiles") / "india@2022.yaml"
    by_key = engine.score("india@2022")
    assert by_key == engine.score(path) == engine.score(str(path))
    assert by_key == engine.score(engine.find_profile(path).profile)
    assert engine.score("formulaland@2022", profiles).name == HOSTILE_NAME
    with pytest.raises(UnknownProfileError, match="did you mean india@2022"):
        engine.score("indai@2022")


def test_batch_converts_to_a_dataframe_with_the_csv_columns(engine, batch):
    frame = batch.to_dataframe()
    from_csv = pandas.read_csv(io.StringIO(batch_csv(batch, engine.ruleset)),
                               parse_dates=["as_of"])
    assert list(frame.columns) == list(from_csv.columns)
    assert frame["profile"].tolist() == [r.profile for r in batch.results]
    assert frame["deterrence_band"].tolist() == [r.deterrence.band for r in batch.results]
    assert frame["deterrence"].dtype.kind == "i" and frame["as_of"].dtype.kind == "M"
    assert frame["as_of"].tolist() == from_csv["as_of"].tolist()


def test_a_profile_converts_to_a_dataframe_of_its_scores(engine):
    result = engine.score("india@2022")
    frame = result.to_dataframe().set_index("score")
    assert frame.loc["deterrence", "value"] == result.deterrence.score
    assert frame.loc["alignment_risk", "band"] == result.alignment_risk.band
    assert list(frame.index) == ["deterrence", "alignment_risk", *result.dimensions]


def test_without_pandas_the_conversion_says_what_to_install(batch, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(MissingDependencyError) as caught:
        batch.to_dataframe()
    assert isinstance(caught.value, LatticeworkError)
    assert "pip install latticework[pandas]" in str(caught.value)
    with pytest.raises(MissingDependencyError):
        batch.results[0].to_dataframe()
