"""Golden outputs of the bundled data: what every command prints, kept to catch drift.

A change of rules, profiles or rendering shows up here as a failing test; when the
change is intended, regenerate with ``python -m tests.golden`` (or ``make golden``)
and commit the new files beside the change, so the review shows what moved.

The ranking is stored whole in every batch format but JSON; each profile's explanations
(score in every format, the full trace) are stored as digests, one line each, so
that the file stays small and a diff still names the profile that moved.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from click.testing import CliRunner

GOLDEN = Path(__file__).resolve().parent / "golden"
BATCH_FORMATS = {"table": "batch.txt", "csv": "batch.csv", "markdown": "batch.md",
                 "json": "batch.json"}
# stored as a digest only: nearly 3 MB, and every byte of it is also in the digests of
# the profiles' JSON explanations
DIGEST_ONLY = {"batch.json"}
# rendering that depends on the terminal is pinned, so the files do not
DIGESTS = "outputs.sha256"
ENV = {"COLUMNS": "120", "NO_COLOR": "1", "LINES": "40"}


def batch_outputs() -> dict[str, str]:
    from engine.cli import main

    runner = CliRunner()
    out = {}
    for fmt, name in BATCH_FORMATS.items():
        res = runner.invoke(main, ["batch", "--all", "--format", fmt], env=ENV)
        if res.exit_code != 0:
            raise RuntimeError(f"batch --format {fmt} exited {res.exit_code}: {res.output}")
        out[name] = res.output
    return out


def explanation_outputs() -> dict[str, str]:
    """Every profile's explanations, rendered by the functions the commands call."""
    from engine import Engine
    from engine import bundled_dir
    from engine import render as explain

    out: dict[str, str] = {}
    with Engine.load() as engine:
        loaded, errors = engine.load_profiles(bundled_dir("profiles"))
        if errors:
            raise RuntimeError(f"bundled profiles do not load: {errors}")
        for lp in sorted(loaded, key=lambda p: p.profile.key):
            key = lp.profile.key
            result, trace = engine.trace(lp.profile)
            out[f"{key} score text"] = explain.result_text(result, engine.ruleset)
            out[f"{key} score json"] = explain.result_json(result)
            out[f"{key} score markdown"] = explain.result_markdown(result, engine.ruleset)
            out[f"{key} explain --all"] = explain.trace_text(trace, result, True)
    return out


def digest_lines(outputs: dict[str, str]) -> str:
    return "".join(f"{hashlib.sha256(text.encode()).hexdigest()[:16]}  {name}\n"
                   for name, text in sorted(outputs.items()))


def current() -> tuple[dict[str, str], str]:
    """The files to compare: whole batch outputs, and one digest file for the rest."""
    whole, digested = {}, explanation_outputs()
    for name, text in batch_outputs().items():
        if name in DIGEST_ONLY:
            digested["batch --all --format json"] = text
        else:
            whole[name] = text
    return whole, digest_lines(digested)


def write() -> None:
    GOLDEN.mkdir(exist_ok=True)
    whole, digests = current()
    for name, text in whole.items():
        (GOLDEN / name).write_text(text, encoding="utf-8")
    (GOLDEN / DIGESTS).write_text(digests, encoding="utf-8")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"golden outputs written to {GOLDEN}\n")
