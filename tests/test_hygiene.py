"""Hostile text and bad values: every rendering shows text as text, every bad value is a
usage error, and a closed or misused engine says so (issue 15)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from engine import Engine
from engine import LatticeworkError
from engine.errors import EngineClosedError
from engine.render import csv_cell
from engine.render import safe_json
from engine.render import safe_text

from .helpers import run_cli as run
from .helpers import write_rules

ESC = "\x1b"
# what a name may carry: an OSC window title, hidden text, an 8-bit CSI, a right-to-left
# override, a NUL, a newline that would forge a line of output
HOSTILE = f"Test{ESC}]0;pwned\a{ESC}[8mland\x9b31m\u202e\x00|\nFIRED forged"
# anything a terminal, a page or an SVG file would act on or choke on; a newline is
# allowed only as the end of a line the renderer wrote
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def profile_yaml(country: str, year: int, name: str, tier: str = "bilateral-treaty") -> str:
    return (f"country: {country}\nname: {json.dumps(name)}\nas_of: {year}-07-01\n"
            f"commitment:\n  tier: {tier}\n")


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile") / "profiles"
    d.mkdir()
    names = {
        ("testland", 2021): HOSTILE,
        ("testland", 2022): HOSTILE,
        ("mathland", 2022): r"$\undefinedmacro$",
        ("dollarland", 2022): "$5 and $6",
        ("formulaland", 2022): '=HYPERLINK("http://example.invalid","x")',
        ("plusland", 2022): "+1",
        ("minusland", 2022): "-1",
        ("atland", 2022): "@SUM(A1)",
    }
    for (country, year), name in names.items():
        tier = "none" if year == 2021 else "bilateral-treaty"
        (d / f"{country}@{year}.yaml").write_text(profile_yaml(country, year, name, tier))
    return d




# --- bad values reach click, not numpy ------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["sensitivity", "--seed", "-1"],
    ["report", "--out", "never-written.html", "--seed", "-5"],
    ["sensitivity", "--spread", "nan"],
    ["sensitivity", "--spread", "-nan"],
    ["sensitivity", "--spread", "inf"],
    ["sensitivity", "--fact-rate", "nan"],
    ["profiles", "completeness", "--min-share", "nan"],
], ids=lambda a: " ".join(a))
def test_bad_numbers_are_usage_errors(args: list[str], tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"Invalid value for '{args[-2]}'" in result.output
    assert not (tmp_path / "never-written.html").exists()


# --- the HTML report ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report(profiles: Path, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    # --out is the older spelling of -o/--output, kept as an alias
    result = run("report", "--out", out, "--draws", "5", "--profiles", profiles,
                 "--date", "2023-05-01")
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_bears_the_date_given(report: str):
    assert "<dt>Dated</dt><dd>2023-05-01</dd>" in report


def test_report_shows_dollar_signs_and_backslashes_as_written(report: str):
    assert '<h2>$5 and $6 <span class="key">dollarland@2022</span></h2>' in report
    assert r'<h2>$\undefinedmacro$ <span class="key">mathland@2022</span></h2>' in report


def test_report_holds_no_control_character(report: str):
    assert not RAW_CONTROL.search(report.replace("\n", ""))
    assert "Test\\x1b]0;pwned\\x07\\x1b[8mland\\x9b31m\\u202e\\x00|\\nFIRED forged" in report


# --- text renderings ------------------------------------------------------------------------

TEXT_COMMANDS = [
    ["score", "testland@2022"],
    ["score", "testland@2022", "--format", "markdown"],
    ["explain", "testland@2022", "--all"],
    ["batch"],
    ["batch", "--format", "markdown"],
    ["batch", "--format", "csv"],
    ["whatif", "testland@2022", "--set", "commitment.tier=none"],
    ["compare", "testland@2021", "testland@2022"],
    ["history", "testland"],
    ["sensitivity", "--draws", "5"],
    ["counterfactual", "testland@2022", "--target", "deterrence<=minimal", "--max-changes", "1"],
    ["profiles", "list"],
]


@pytest.mark.parametrize("args", TEXT_COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_no_control_character_reaches_the_terminal(args: list[str], profiles: Path):
    result = run(*args, "--profiles", profiles)
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")
    assert not [line for line in lines if RAW_CONTROL.search(line)]
    # the newline in the name is shown, not obeyed: no line starts with the forged text
    assert not [line for line in lines if line.lstrip("| ").startswith("FIRED forged")]


@pytest.mark.parametrize("args", [["score", "testland@2022", "--format", "json"],
                                  ["batch", "--format", "json"]], ids=["score", "batch"])
def test_json_escapes_every_control_character_and_keeps_the_data(args, profiles: Path):
    result = run(*args, "--profiles", profiles)
    assert result.exit_code == 0, result.output
    assert not RAW_CONTROL.search(result.output.replace("\n", ""))
    data = json.loads(result.output)
    names = [data["name"]] if "name" in data else [r["name"] for r in data["results"]]
    assert HOSTILE in names


def test_escaped_text_stays_readable():
    assert safe_text(f"a{ESC}[31mb\x00\x9b\u202e\n") == "a\\x1b[31mb\\x00\\x9b\\u202e\\n"
    assert safe_text("Côte d'Ivoire, 日本") == "Côte d'Ivoire, 日本"
    assert json.loads(safe_json(json.dumps("\x85\u2028", ensure_ascii=False))) == "\x85\u2028"


def test_csv_cells_that_a_spreadsheet_would_run_are_text(profiles: Path):
    result = run("batch", "--format", "csv", "--profiles", profiles)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    names = {r["profile"]: r["name"] for r in rows}
    assert names["formulaland@2022"] == """'=HYPERLINK("http://example.invalid","x")"""
    assert names["plusland@2022"] == "'+1"
    assert names["minusland@2022"] == "'-1"
    assert names["atland@2022"] == "'@SUM(A1)"
    assert names["dollarland@2022"] == "$5 and $6"
    assert all(r["deterrence"].isdigit() for r in rows)  # numbers stay numbers
    assert csv_cell(-3) == -3 and csv_cell("india@2022") == "india@2022"


def test_markdown_cells_escape_the_pipe(profiles: Path):
    result = run("batch", "--format", "markdown", "--profiles", profiles)
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("|")]
    unescaped = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
    assert len(unescaped) == 1, table


def test_rule_texts_are_escaped_in_the_rules_table(tmp_path: Path):
    rules = write_rules(tmp_path, [{
        "id": "hostile-title", "title": f"A {ESC}]0;x\a title | with a pipe",
        "when": {"field": "commitment.tier", "equals": "none"},
        "points": {"deterrence": 1},
    }])
    outputs = {}
    for fmt in ("table", "markdown", "json"):
        result = run("rules", "list", "--format", fmt, "--rules", rules)
        assert result.exit_code == 0, result.output
        assert not RAW_CONTROL.search(result.output.replace("\n", "")), fmt
        outputs[fmt] = result.output
    assert "A \\x1b]0;x\\x07 title \\| with a pipe" in outputs["markdown"]
    assert json.loads(outputs["json"])[0]["title"] == f"A {ESC}]0;x\a title | with a pipe"


def test_found_values_and_file_names_in_messages_are_escaped(tmp_path: Path):
    path = tmp_path / f"bad{ESC}[32m.yaml"
    path.write_text(f'{profile_yaml("testland", 2022, "Testland")}'
                    'dependence:\n  arms_us_share: "4\\e]0;x\\a"\n')
    result = run("score", path)
    assert result.exit_code == 2, result.output
    assert not RAW_CONTROL.search(result.output.replace("\n", ""))
    assert "bad\\x1b[32m.yaml, line 7" in result.output
    assert "found the text '4\\x1b]0;x\\x07'" in result.output


# --- a file that is not profile data ------------------------------------------------------

SHADOW = """\
root:$6$Zx8dsalt$SECRETHASHrootSECRETHASHroot:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
alice:$y$j9T$anothersalt$SECRETHASHaliceSECRET:19100:0:99999:7:::
"""


def test_a_shadow_file_is_not_echoed_back(tmp_path: Path):
    path = tmp_path / "shadow"
    path.write_text(SHADOW)
    result = run("score", path)
    assert result.exit_code == 2, result.output
    assert "SECRETHASH" not in result.output and "salt" not in result.output
    assert "line 1: field 'root...': no such field" in result.output
    assert "line 3: field 'alice...': no such field" in result.output


def test_a_whole_line_as_a_nested_key_is_cut_to_its_first_word(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(profile_yaml("testland", 2022, "Testland")
                    + 'forces:\n  "troops: password=hunter2 and more": 3\n'
                    + 'unknown:\n  "token=hunter2 secret": a reason that is long enough\n')
    result = run("score", path)
    assert result.exit_code == 2, result.output
    assert "hunter2" not in result.output
    assert "field 'forces.troops...': no such field" in result.output
    assert "found the key 'token...'" in result.output


# --- the API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("evaluator", ["durable", "reference"])
def test_a_closed_engine_says_it_is_closed(evaluator: str, profiles: Path):
    engine = Engine.load(evaluator=evaluator)
    profile = engine.find_profile("testland@2022", profiles).profile
    engine.score(profile)
    engine.close()
    engine.close()  # closing twice is harmless
    for use in (lambda: engine.score(profile), lambda: engine.trace(profile),
                lambda: engine.fired(profile), lambda: engine.batch(profiles)):
        with pytest.raises(EngineClosedError, match="the engine is closed"):
            use()
    assert issubclass(EngineClosedError, LatticeworkError)
    assert issubclass(EngineClosedError, ValueError)


@pytest.mark.parametrize("sort, error", [("x", ValueError), (None, TypeError),
                                         ({}, TypeError), (b"key", TypeError)])
def test_batch_names_the_sorts_it_accepts(reference_engine, sort, error, tmp_path: Path):
    # refused before any file is read: the directory does not exist
    with pytest.raises(error, match="sort must be one of 'deterrence', 'alignment-risk', "
                       "'key', 'name'"):
        reference_engine.batch(tmp_path / "missing", sort=sort)


@pytest.mark.parametrize("profile", [None, 7, b"india@2022.yaml", {}])
def test_score_names_what_it_accepts(reference_engine, profile):
    with pytest.raises(TypeError, match="a Profile or the path of a profile file"):
        reference_engine.score(profile)
