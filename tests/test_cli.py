"""The CLI: exit codes, exact error texts, the JSON contract, determinism, help everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from engine import bundled_dir
from engine.cli import main

from .helpers import run_cli
from .helpers import run_cli as run


def walk(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, prefix + (name,))


def test_every_command_has_help():
    commands = list(walk(main))
    assert {" ".join(p) for p, _ in commands} >= {
        "score", "batch", "explain", "validate", "profiles list", "rules list"}
    for path, cmd in commands:
        assert cmd.help, path
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_the_listed_summaries_are_the_commands_own():
    """--help lists commands without importing them; the summaries it lists must not drift
    from the commands' docstrings."""
    from engine.cli import COMMANDS

    ctx = click.Context(main)
    for name, (_, _, summary) in COMMANDS.items():
        cmd = main.get_command(ctx, name)
        assert cmd is not None and cmd.name == name, name
        assert " ".join(cmd.help.split()).startswith(summary), name


def test_help_imports_no_command_module():
    import subprocess
    import sys

    code = ("import sys\nfrom engine.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('engine.') or m in "
            "('pydantic', 'durable', 'ruamel.yaml')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['engine.cli']"


def some_key() -> str:
    return sorted(p.stem for p in bundled_dir("profiles").glob("*.yaml"))[0]


def test_score_text_explains_every_point():
    result = run("score", "india@2022")
    assert result.exit_code == 0, result.output
    assert "Deterrence:" in result.output and "Alignment risk:" in result.output
    assert "source: " in result.output and "fact: " in result.output


def test_score_json_follows_the_contract_and_is_byte_identical():
    first = run("score", "india@2022", "--format", "json")
    second = run("score", "india@2022", "--format", "json")
    assert first.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes
    r = json.loads(first.output)
    assert set(r) >= {"profile", "country", "name", "as_of", "deterrence", "alignment_risk",
                      "dimensions"}
    assert r["profile"] == "india@2022" and r["country"] == "india"
    for score in (r["deterrence"], r["alignment_risk"]):
        assert set(score) >= {"score", "band", "base", "adjustment", "contributions"}
        assert score["base"] + sum(c["points"] for c in score["contributions"]) \
            + score["adjustment"] == score["score"]
        for c in score["contributions"]:
            assert set(c) >= {"rule", "points", "dimension", "rationale", "matched", "source"}
            assert set(c["source"]) == {"id", "section"}
            for m in c["matched"]:
                assert set(m) >= {"field", "value", "threshold"}
    assert {"guarantee_strength", "dependence", "sanction_exposure"} <= set(r["dimensions"])
    for d in r["dimensions"].values():
        assert {"score", "band", "contributions"} <= set(d)


def test_score_markdown():
    result = run("score", "india@2022", "--format", "markdown")
    assert result.exit_code == 0
    assert result.output.startswith("# India (india@2022)")


def test_unknown_key_suggests_the_nearest():
    result = run("score", "indai@2022")
    assert result.exit_code == 2
    assert result.output.startswith("Error: no profile named 'indai@2022'; did you mean india@2022")
    assert result.output.endswith("? ('latticework profiles list' shows them all)\n")


def test_missing_file_is_an_input_error(tmp_path):
    result = run("score", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path / 'nope.yaml'}: no such file [file-not-found]\n"


def test_batch_json_contract_and_determinism():
    first = run("batch", "--all", "--format", "json")
    assert first.exit_code == 0, first.output
    assert first.stdout_bytes == run("batch", "--all", "--format", "json").stdout_bytes
    data = json.loads(first.output)
    assert set(data) == {"ruleset", "results", "errors", "selection"}
    assert data["selection"]["mode"] == "all"
    assert set(data["ruleset"]) == {"rules", "digest"}
    files = sorted(p.stem for p in bundled_dir("profiles").glob("*.yaml"))
    assert sorted(r["profile"] for r in data["results"]) == files
    assert data["errors"] == []
    scores = [r["deterrence"]["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_batch_formats_list_every_profile(fmt):
    result = run("batch", "--all", "--format", fmt, "--sort", "alignment-risk")
    assert result.exit_code == 0
    for p in bundled_dir("profiles").glob("*.yaml"):
        assert p.stem in result.output


def test_one_broken_profile_does_not_stop_the_batch(profiles_copy: Path):
    (profiles_copy / "broken@2022.yaml").write_text("country: broken\nname: [oops\n")
    result = run("batch", "--all", "--profiles", str(profiles_copy), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    good = len(list(profiles_copy.glob("*.yaml"))) - 1
    assert len(data["results"]) == good
    (err,) = data["errors"]
    assert err["source"].endswith("broken@2022.yaml")
    assert "not valid YAML" in err["message"] and err["code"] == "yaml-syntax"


def test_broken_profile_is_reported_on_stderr_for_tables(profiles_copy: Path):
    (profiles_copy / "broken@2022.yaml").write_text("- a list\n")
    result = run_cli("batch", "--profiles", str(profiles_copy))
    assert result.exit_code == 1
    assert "1 profile could not be scored:" in result.stderr
    assert "broken@2022.yaml" in result.stderr
    assert "broken" not in result.stdout


def test_profile_file_must_be_named_after_its_key(profiles_copy: Path):
    src = next(iter(sorted(profiles_copy.glob("*.yaml"))))
    src.rename(profiles_copy / "renamed.yaml")
    result = run("batch", "--all", "--profiles", str(profiles_copy), "--format", "json")
    assert result.exit_code == 1
    (err,) = json.loads(result.stdout)["errors"]
    assert err["code"] == "file-name"


def test_broken_rules_exit_2_and_write_no_output_file(rules_copy: Path, tmp_path: Path):
    (rules_copy / "extra.yaml").write_text("dimension: dependence\nrules: {}\n")
    out = tmp_path / "out.json"
    result = run("batch", "--rules", str(rules_copy), "--format", "json", "-o", str(out))
    assert result.exit_code == 2
    assert "extra.yaml, line 2: field 'rules'" in result.output
    assert not out.exists()
    assert list(tmp_path.glob(".out.json*")) == []


def test_output_file_is_written_whole(tmp_path: Path):
    out = tmp_path / "batch.csv"
    result = run("batch", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text() == run("batch", "--format", "csv").output


def test_validate_is_clean_on_the_bundled_files():
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_validate_reports_every_problem_at_once(rules_copy: Path, profiles_copy: Path):
    (profiles_copy / "a@2022.yaml").write_text("country: a\nname: A\n")
    (profiles_copy / "b@2022.yaml").write_text("[1, 2]\n")
    (rules_copy / "zz.yaml").write_text(
        "dimension: dependence\nrules:\n  - id: x\n    title: X\n"
        "    when: {field: nope, equals: 1}\n    points: {dependence: 1}\n"
        "    rationale: long enough text\n    support: what the source says, long enough\n"
        "    source: {id: partnerships-2022, section: introduction}\n"
    )
    result = run("validate", "--rules", str(rules_copy), "--profiles", str(profiles_copy))
    assert result.exit_code == 2
    assert "4 problems found:" in result.output
    assert "zz.yaml, line 5" in result.output
    assert "a@2022.yaml" in result.output and "b@2022.yaml, line 1" in result.output


def test_lists():
    assert run("profiles", "list").exit_code == 0
    result = run("rules", "list")
    assert result.exit_code == 0 and "gs-" in result.output
    assert json.loads(run("rules", "list", "--format", "json").output)


def test_explain_shows_fired_and_with_all_the_unmet_facts():
    fired = run("explain", "india@2022")
    every = run("explain", "india@2022", "--all")
    assert fired.exit_code == every.exit_code == 0
    assert "FIRED" in fired.output and "\nno " not in fired.output
    assert "unmet:" in every.output


def test_reference_evaluator_gives_the_same_output():
    a = run("batch", "--format", "json")
    b = run("batch", "--format", "json", "--evaluator", "reference")
    assert a.stdout_bytes == b.stdout_bytes


def test_bad_usage_exits_2():
    assert run("batch", "--format", "xml").exit_code == 2
    assert run("score").exit_code == 2


def test_debug_shows_our_traceback(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("")
    result = run("--debug", "score", str(bad))
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "LoadError"


def test_help_does_not_load_the_engine():
    """`latticework --help` stays fast: pydantic, the YAML parser and durable_rules load on use."""
    import subprocess
    import sys

    code = ("import sys, engine.cli; "
            "print(sorted(m for m in ('pydantic', 'ruamel.yaml', 'durable', 'z3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_parallel_batch_gives_identical_json(profiles_copy: Path):
    (profiles_copy / "broken@2022.yaml").write_text("country: [\n")
    one = run("batch", "--all", "--format", "json", "--profiles", str(profiles_copy))
    two = run("batch", "--all", "--format", "json", "--profiles", str(profiles_copy), "--jobs", "2")
    assert one.exit_code == two.exit_code == 1
    assert one.stdout_bytes == two.stdout_bytes
    assert len(json.loads(two.stdout)["results"]) == len(list(profiles_copy.glob("*.yaml"))) - 1


def test_bench_json_reports_every_figure_the_issue_names():
    result = run("bench", "--profiles", "100", "--rss-profiles", "100", "--format", "json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("profiles_per_s", "reference_profiles_per_s", "raw_durable_profiles_per_s",
                "durable_core_profiles_per_s", "peak_rss_mb", "peak_rss_mb_10x",
                "sensitivity_draws_per_s"):
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    # the production path drives the C core itself, so it may outrun the Host floor, never
    # the C core floor it stands on
    assert figures["durable_share_of_raw"] > 0
    assert 0 < figures["durable_share_of_core"] < 2
    assert figures["rss_profiles"] == 100


def test_validate_takes_a_profile_file():
    result = run("validate", str(bundled_dir("profiles") / "india@2022.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output == f"ok: {len(load_rule_ids())} rules, 1 profile\n"


def load_rule_ids() -> list[str]:
    from engine import Engine

    with Engine.load(evaluator="reference") as engine:
        return [r.id for r in engine.ruleset.rules]


def test_validate_checks_only_the_profile_files_given(profiles_copy: Path):
    (profiles_copy / "a@2022.yaml").write_text("country: a\nname: A\n")
    (profiles_copy / "b@2022.yaml").write_text("[1, 2]\n")
    result = run("validate", str(profiles_copy / "b@2022.yaml"),
                 str(profiles_copy / "india@2022.yaml"))
    assert result.exit_code == 2
    assert "1 problem found:" in result.output
    assert "b@2022.yaml, line 1" in result.output and "a@2022.yaml" not in result.output


def test_validate_a_missing_file_is_a_problem(tmp_path: Path):
    result = run("validate", str(tmp_path / "nope@2022.yaml"))
    assert result.exit_code == 2
    assert "nope@2022.yaml: no such file" in result.output


def test_validate_takes_a_rule_file_for_its_rule_set(rules_copy: Path):
    clean = run("validate", str(rules_copy / "dependence.yaml"))
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith(f"ok: {len(load_rule_ids())} rules, ")
    (rules_copy / "zz.yaml").write_text("dimension: dependence\nrules: {}\n")
    broken = run("validate", str(rules_copy / "dependence.yaml"))
    assert broken.exit_code == 2
    assert "zz.yaml, line 2: field 'rules'" in broken.output


def test_validate_refuses_two_rule_sets(rules_copy: Path):
    result = run("validate", str(rules_copy), str(bundled_dir("rules") / "dependence.yaml"))
    assert result.exit_code == 2
    assert "validate checks one rule set at a time" in result.output


def test_explain_writes_to_a_file_with_o(tmp_path: Path):
    out = tmp_path / "india.json"
    result = run("explain", "india@2022", "--format", "json", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(out.read_text())["profile"] == "india@2022"
