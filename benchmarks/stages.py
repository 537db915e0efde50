"""One stage of scoring, run over and over, for an instruction count that does not drift.

    .venv/bin/python benchmarks/stages.py STAGE PASSES [--profiles N]

STAGE is one of ``end-to-end`` (``Engine.score_iter``), ``flatten``, ``message`` (the
fact as the JSON text durable_rules gets), ``durable`` (``DurableEvaluator.fired``),
``core`` (the bench's C core floor), ``reference`` (``ReferenceEvaluator.fired``),
``trace`` and ``score``. The script loads the engine, scores N generated profiles once so that every
cache is warm, prepares each stage's input, then runs STAGE over the N profiles PASSES
times. Wall-clock rates on a shared machine drift by tens of percent over minutes;
instruction counts do not. One stage's cost per profile::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python benchmarks/stages.py trace 0      # "Collected : A"
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python benchmarks/stages.py trace 2      # "Collected : B"

and (B - A) / (2 x N) instructions a profile (N = 500 unless ``--profiles``). Run a
command once before counting: its first run after a change to ``engine/`` also compiles
the rule set into the rule cache. A fixed hash seed keeps every dict and set laid out
alike from run to run: with a random one, a pass that did nothing once counted -107
instructions a profile.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.api import Engine  # noqa: E402
from engine.bench.run import SEED  # noqa: E402
from engine.bench.run import CoreDurable  # noqa: E402
from engine.bench.synthetic import random_profiles  # noqa: E402
from engine.errors import GroupViolation  # noqa: E402
from engine.evaluator import DurableEvaluator  # noqa: E402
from engine.fields import flatten  # noqa: E402

STAGES = ("end-to-end", "flatten", "message", "durable", "core", "reference", "trace", "score")


def stages(engine: Engine, n: int) -> dict[str, Callable[[], object]]:
    """Each stage as a function of no arguments that runs it over the n profiles."""
    profiles = list(random_profiles(n, seed=SEED))
    for _ in engine.score_iter(profiles):
        pass
    evaluator, reference = engine.evaluator, engine._check
    if not isinstance(evaluator, DurableEvaluator) or reference is None:
        raise SystemExit("the stages need the durable evaluator with its reference cross-check")
    tracer, scorer = engine._tracer, engine._scorer
    facts = [flatten(p) for p in profiles]
    fired = [evaluator.fired(f) for f in facts]
    traces = [tracer.trace(p, f, fd, evaluator.name, full=False, checked=True)
              for p, f, fd in zip(profiles, facts, fired, strict=True)]
    core = CoreDurable(engine, facts)

    def end_to_end() -> None:
        for _ in engine.score_iter(profiles):
            pass

    def score() -> None:
        for t in traces:
            try:
                scorer.score(t)
            except GroupViolation:
                pass

    return {
        "end-to-end": end_to_end,
        "flatten": lambda: [flatten(p) for p in profiles],
        "message": lambda: [evaluator.text(f, "1", "1") for f in facts],
        "durable": lambda: [evaluator.fired(f) for f in facts],
        "core": core.seconds,
        "reference": lambda: [reference.fired(f) for f in facts],
        "trace": lambda: [tracer.trace(p, f, fd, evaluator.name, full=False, checked=True)
                          for p, f, fd in zip(profiles, facts, fired, strict=True)],
        "score": score,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("passes", type=int, help="runs of the stage over the profiles")
    parser.add_argument("--profiles", type=int, default=500)
    args = parser.parse_args(argv)
    with Engine.load() as engine:
        run = stages(engine, args.profiles)[args.stage]
        # what was built so far lives to the end: collections would only walk it again
        gc.collect()
        gc.freeze()
        for _ in range(args.passes):
            run()


if __name__ == "__main__":
    main()
