"""The terminal: tables that fit its width, bands in colour only on a terminal, the
explanation's filters and formats, and shell completion."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from engine import bundled_dir
from engine.cli import common
from engine.cli import main
from engine.conditions import All
from engine.conditions import Cmp
from engine.conditions import Not
from engine.conditions import normalize
from engine.render import display_width
from engine.trace import unmet_leaves

from .helpers import run_cli

PLAIN = {"COLUMNS": None, "NO_COLOR": None}


def run(*args: str, env: dict | None = None, color: bool = False):
    return run_cli(*args, env={**PLAIN, **(env or {})}, color=color)


def widest(text: str) -> int:
    return max(display_width(line) for line in text.splitlines())


# --- tables that fit -------------------------------------------------------------------

@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", [("batch",), ("batch", "--all"), ("batch", "--as-of", "2022"),
                                  ("profiles", "list"), ("rules", "list")])
def test_no_line_of_a_default_table_is_wider_than_the_terminal(width, args):
    result = run(*args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    assert widest(result.output) <= width
    assert len(result.output.splitlines()) > 20


def test_at_80_columns_batch_keeps_rank_partner_scores_and_bands():
    out = run("batch", "--all", env={"COLUMNS": "80"}).output
    lines = out.splitlines()
    assert lines[1] == "(7 columns left out to fit 80 columns; --wide shows them, --columns chooses)"
    header = lines[3] + "\n" + lines[4]
    for word in ("#", "profile", "deterrence", "band", "alignment", "risk band"):
        assert word in header
    assert "name" not in header and "dependence" not in header
    germany = next(line for line in lines if "germany@2022" in line)
    assert germany.split() == ["1", "germany@2022", "77", "strong", "13", "low"]


def test_at_120_columns_batch_adds_the_name_and_what_else_fits():
    lines = run("batch", "--all", env={"COLUMNS": "120"}).output.splitlines()
    assert "name" in lines[4] and "strength" in lines[4]
    germany = next(line for line in lines if "germany@2022" in line)
    assert germany.split()[:4] == ["1", "germany@2022", "Germany", "77"]


def test_wide_shows_every_column_and_columns_choose_them():
    wide = run("batch", "--all", "--wide", env={"COLUMNS": "80"}).output
    assert widest(wide) > 120 and "left out" not in wide
    for title in ("guarantee", "dependence", "exposure", "environment", "behaviour",
                  "empowerment", "name"):
        assert title in wide
    chosen = run("batch", "--all", "--columns", "profile,dependence,alignment-risk",
                 env={"COLUMNS": "80"}).output.splitlines()
    assert chosen[2].split() == ["alignment"]
    assert chosen[3].split() == ["profile", "dependence", "risk"]
    assert next(line for line in chosen if "germany@2022" in line).split() == \
        ["germany@2022", "33", "13"]


def test_an_unknown_column_is_named_with_the_nearest():
    result = run("batch", "--columns", "profile,dependance")
    assert result.exit_code == 2
    assert result.output.startswith(
        "Error: --columns: no column named 'dependance'; did you mean dependence, deterrence? "
        "(the columns: rank, profile, name, deterrence,")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_columns_and_wide_are_for_tables_only(fmt):
    for option in (["--wide"], ["--columns", "profile"]):
        result = run("batch", "--format", fmt, *option)
        assert result.exit_code == 2
        assert "shape the table and markdown formats" in result.output


def test_piped_without_columns_the_table_fits_120(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert common.terminal_width() == common.PIPED_WIDTH == 120
    piped = run("batch", "--all").output
    assert piped == run("batch", "--all", env={"COLUMNS": "120"}).output


def test_the_width_of_a_table_written_to_a_file_does_not_depend_on_the_terminal(
        monkeypatch, tmp_path: Path):
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    out = tmp_path / "ranking.txt"
    assert run("batch", "-o", str(out)).exit_code == 0
    assert out.read_text() == run("batch", env={"COLUMNS": "120"}).output


def test_markdown_is_a_document_and_holds_every_column_whatever_the_width():
    narrow = run("batch", "--format", "markdown", env={"COLUMNS": "80"}).output
    assert narrow == run("batch", "--format", "markdown", env={"COLUMNS": "200"}).output
    assert "| empowerment" in narrow


# --- colour ----------------------------------------------------------------------------

GREEN_STRONG = click.style("strong", fg="green", bold=False)
GREEN_LOW = click.style("low", fg="green", bold=True)


def test_bands_are_coloured_on_a_terminal(monkeypatch):
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    out = run("batch", "--all", env={"COLUMNS": "80"}, color=True).output
    germany = next(line for line in out.splitlines() if "germany@2022" in line)
    # strong deterrence and low risk are both good news: both green
    assert GREEN_STRONG in germany and GREEN_LOW in germany
    # the colour codes take no room: the table still fits
    assert widest(out) <= 80
    score = run("score", "germany@2022", color=True).output
    assert f"Deterrence: 77 ({GREEN_STRONG})" in score
    explain = run("explain", "germany@2022", color=True).output
    assert f"= 77 ({GREEN_STRONG})" in explain


def test_no_colour_when_piped_or_with_no_color(monkeypatch, tmp_path: Path):
    assert "\x1b" not in run("batch", color=True).output  # piped: not a terminal
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    for args in (("batch",), ("score", "germany@2022"), ("explain", "germany@2022")):
        assert "\x1b" not in run(*args, env={"NO_COLOR": "1"}, color=True).output, args
    # NO_COLOR set but empty does not count (no-color.org)
    assert "\x1b[" in run("batch", env={"NO_COLOR": ""}, color=True).output
    out = tmp_path / "ranking.txt"
    assert run("batch", "-o", str(out), color=True).exit_code == 0
    assert "\x1b" not in out.read_text()


# --- explain ---------------------------------------------------------------------------

def test_a_satisfied_not_is_never_reported_as_unmet():
    """India's joined_russia_sanctions is known (false): the rule's `not equals true` holds,
    so only the energy dependence kept sx-russian-energy-buyer from firing."""
    out = run("explain", "india@2022", "--all").output.splitlines()
    at = out.index("no     sx-russian-energy-buyer [sanction_exposure +7]")
    assert out[at + 1:at + 3] == [
        "         unmet: dependence.russian_energy = low (rule: = high)  "
        "[provisional; india-russian-oil-imports]",
        "no     sx-un-sanctions [sanction_exposure +12]",
    ]
    assert "joined_russia_sanctions is unknown" not in "\n".join(out)


def test_unmet_leaves_of_a_negated_in():
    tier = Cmp("commitment.tier", "in", ("none", "terminated"))
    rule = normalize(All((Cmp("dependence.us_reliance", "eq", "high"), Not(tier))))
    fact = {"dependence.us_reliance": "moderate", "commitment.tier": "bilateral-treaty"}
    assert unmet_leaves(rule, fact) == [Cmp("dependence.us_reliance", "eq", "high")]
    # the tier in the list: the `not` fails, shown by its value, not as "is unknown"
    fact["commitment.tier"] = "none"
    assert unmet_leaves(rule, fact)[1:] == [Cmp("commitment.tier", "not_in", ("none", "terminated"))]
    # the tier unknown: the `not` holds
    del fact["commitment.tier"]
    assert unmet_leaves(rule, fact) == [Cmp("dependence.us_reliance", "eq", "high")]


def test_explain_fails_shows_only_what_did_not_fire_and_why():
    out = run("explain", "india@2022", "--fails").output.splitlines()
    assert out[1] == "showing: the rules that did not fire, and why"
    heads = [line for line in out if not line.startswith(" ") and line[:6] in ("FIRED ", "no    ")]
    assert heads and all(line.startswith("no     ") for line in heads)
    every = run("explain", "india@2022", "--all").output
    assert len(heads) == every.count("\nno     ")


def test_explain_dimension_keeps_the_rules_feeding_it():
    out = run("explain", "india@2022", "--all", "--dimension", "sanction-exposure").output
    heads = [line for line in out.splitlines() if line.startswith(("FIRED ", "no "))]
    assert heads and all("sanction_exposure" in line for line in heads)
    assert out.splitlines()[-1] == "sanction_exposure: 10 +25 +15 +6 = 56 (medium)"


def test_explain_unknown_dimension_suggests_the_nearest():
    result = run("explain", "india@2022", "--dimension", "dependance")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --dimension: no score or dimension named 'dependance'; did you mean "
        "dependence, deterrence? (they are: deterrence, alignment_risk, guarantee_strength, dependence, "
        "sanction_exposure, threat_environment, alignment_behaviour, empowerment)\n")


def test_explain_json_and_markdown_hold_what_the_text_shows():
    text = run("explain", "india@2022", "--fails", "--dimension", "dependence").output
    data = json.loads(run("explain", "india@2022", "--fails", "--dimension", "dependence",
                          "--format", "json").output)
    assert data["profile"] == "india@2022" and list(data["scores"]) == ["dependence"]
    assert [r["rule"] for r in data["rules"]] == [
        line.split()[1] for line in text.splitlines() if line.startswith("no ")]
    assert all(not r["fired"] and r["unmet"] and "dependence" in r["points"]
               for r in data["rules"])
    score = data["scores"]["dependence"]
    assert score["base"] + sum(p["points"] for p in score["points"]) + score["adjustment"] \
        == score["score"]
    md = run("explain", "india@2022", "--format", "markdown").output
    assert md.startswith("# India (india@2022): explanation\n")
    assert md.count("| yes |") == data["rules_fired"]


# --- shell completion ------------------------------------------------------------------

def values(items) -> list[str]:
    return [item.value for item in items]


def test_profile_keys_complete_from_the_bundled_directory_without_the_engine():
    assert common._profile_dir(None) == bundled_dir("profiles")
    keys = values(common.complete_profile(click.Context(main), None, "ind"))
    assert keys == ["india@2018", "india@2022", "india@2024", "indonesia@2022",
                    "indonesia@2024"]
    (item,) = common.complete_profile(click.Context(main), None, "./prof")
    assert (item.type, item.value) == ("file", "./prof")
    (item,) = common.complete_profile(click.Context(main), None, "zz")
    assert item.type == "file"


def test_profile_keys_complete_from_the_profiles_option(tmp_path: Path):
    (tmp_path / "atlantis@2030.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    ctx = click.Context(main)
    ctx.params["profiles_dir"] = tmp_path
    assert values(common.complete_profile(ctx, None, "")) == ["atlantis@2030"]
    assert values(common.complete_country(ctx, None, "a")) == ["atlantis"]


def test_set_completes_field_paths_then_values():
    assert values(common.complete_assignment(None, None, "sanctions.caatsa_")) == [
        "sanctions.caatsa_purchase=", "sanctions.caatsa_status="]
    assert "sanctions.caatsa_status=waived" in values(
        common.complete_assignment(None, None, "sanctions.caatsa_status="))
    assert values(common.complete_assignment(None, None, "sanctions.caatsa_status=unk")) == [
        "sanctions.caatsa_status=unknown"]
    assert values(common.complete_assignment(None, None, "nosuch.field=")) == []


def test_the_shell_gets_the_keys_through_click():
    result = CliRunner().invoke(main, [], prog_name="latticework", env={
        "_LATTICEWORK_COMPLETE": "bash_complete", "COMP_WORDS": "latticework explain germ",
        "COMP_CWORD": "2"})
    expected = sorted(p.stem for p in bundled_dir("profiles").glob("germ*.yaml"))
    assert expected and result.output.splitlines() == [f"plain,{key}" for key in expected]


def test_completion_does_not_load_the_engine():
    import subprocess
    import sys

    code = ("import os, sys\n"
            "os.environ.update(_LATTICEWORK_COMPLETE='bash_complete', "
            "COMP_WORDS='latticework score ind', COMP_CWORD='2')\n"
            "from engine.cli import main\n"
            "try:\n    main(prog_name='latticework')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pydantic', 'ruamel.yaml', 'durable') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"
    assert "plain,india@2022" in out.stdout
