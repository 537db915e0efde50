"""The README's output excerpts are what the commands print: a change of model shows up
in the README or fails the build."""

from __future__ import annotations

from pathlib import Path

from .helpers import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(title)
    end = text.index("\n#", start + len(title))
    return text[start:end]


def test_the_ranked_table_excerpt_is_what_batch_prints():
    block = section("### The ranked table")
    excerpt = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    assert len(excerpt) >= 13
    out = run_cli("batch", env={"COLUMNS": "80", "NO_COLOR": "1"})
    printed = out.stdout.splitlines()
    for line in excerpt:
        assert line in printed, line


def test_the_explanation_excerpt_is_what_score_prints():
    block = section("### One explanation")
    excerpt = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    printed = run_cli("score", "india@2022").stdout.splitlines()
    shown = [line for line in excerpt if line.strip() and line.strip() != "..."]
    assert len(shown) >= 15
    for line in shown:
        assert line in printed, line


WILD = ("…", "same shape", "what the source says")


def conforms(example, actual, where: str = "") -> list[str]:
    """Where the README's JSON example disagrees with real output: a key the output lacks,
    or a concrete value that differs. "…" stands for any value (or, as a key, for the
    keys not shown)."""
    if isinstance(example, str) and example in WILD:
        return []
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        problems = []
        for key, value in example.items():
            if key == "…":
                continue
            if key not in actual:
                problems.append(f"{where}.{key}: not in the output")
            else:
                problems += conforms(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list"]
        return conforms(example[0], actual[0], f"{where}[0]") if example and actual else []
    return [] if example == actual else [f"{where}: README shows {example!r}, output {actual!r}"]


def test_the_json_example_is_what_batch_prints():
    import json

    block = section("## The JSON contract")
    example = json.loads(block.split("```json\n", 1)[1].split("```", 1)[0])
    output = json.loads(run_cli("batch", "--format", "json").stdout)
    india = next(r for r in output["results"] if r["profile"] == "india@2024")
    # the example shows India's result and one error record (the bundled profiles load)
    errors = example.pop("errors")
    example["results"][0]["deterrence"]["contributions"][0].pop("rule")
    problems = conforms({k: v for k, v in example.items() if k != "results"}, output)
    problems += conforms(example["results"][0], india, "results[india]")
    assert not problems, "\n".join(problems)
    from dataclasses import fields

    from engine.results import ErrorOut

    assert set(errors[0]) == {f.name for f in fields(ErrorOut)}
