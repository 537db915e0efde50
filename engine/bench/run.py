"""The benchmark behind ``latticework bench`` and ``make bench``: figures, not pass/fail.

On the bundled rules and N seeded synthetic profiles it measures

* ``profiles_per_s``: end to end through durable_rules, explanations included,
  through ``Engine.score_iter`` as batches and sweeps use it (with the
  reference cross-check the engine always runs);
* ``single_profiles_per_s``: the same, one ``Engine.score`` call per profile;
* ``reference_profiles_per_s``: the reference evaluator as sweeps use it,
  firing and points on facts prepared as its rows, no explanation;
* ``reference_end_to_end_profiles_per_s``: ``Engine.score_iter`` on the reference evaluator;
* ``durable_core_profiles_per_s``: the true floor: the same compiled rules in
  durable_rules' C core, each fact written as JSON, asserted into one session, its
  actions taken off the queue and left unread (no-op actions), retracted by its id;
* ``raw_durable_profiles_per_s``: the ``Host`` floor: the same on a bare
  durable's Python ``Host`` with no-op actions, which parses the state and
  the fact back from JSON on every firing
  (these two floors, ``profiles_per_s`` and ``single_profiles_per_s`` on the same
  slices of profiles in turn, medians over slices; ``durable_share_of_core``,
  ``durable_share_of_raw`` and ``single_share_of_raw`` are the floor's time over the
  path's, slice by slice);
* ``peak_rss_mb`` and ``peak_rss_mb_10x``: peak resident memory (``VmHWM``)
  of a fresh process scoring N and 10 x N profiles, read by that process;
* ``sensitivity_draws_per_s``: weight-perturbation draws over the bundled profiles.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from ..api import CHUNK
from ..api import Engine
from ..api import bundled_dir
from ..errors import GroupViolation
from ..fields import flatten
from .synthetic import random_profiles

SEED = 20221
ROUNDS = 3


def _seconds(fn: Callable[[Any], Any], items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        try:
            fn(item)
        except GroupViolation:
            pass  # a generated profile the rule base rejects: evaluated all the same
    return time.perf_counter() - start


def _rate(fn: Callable[[Any], Any], items: list[Any]) -> float:
    return len(items) / _seconds(fn, items)


def _messages(engine: Engine, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The facts as durable_rules gets them, each in a session of its own."""
    from ..evaluator import DurableEvaluator
    from ..evaluator import HostDurableEvaluator

    evaluator = engine.evaluator
    if not isinstance(evaluator, DurableEvaluator | HostDurableEvaluator):
        raise TypeError(f"the durable_rules floors need a durable_rules engine, "
                        f"not the {evaluator.name} evaluator")
    return [{**evaluator.message(fact), "sid": str(i)} for i, fact in enumerate(facts)]


class CoreDurable:
    """durable_rules' C core alone on the compiled rules, driven as the production path
    drives it: assert into one session, take the actions off the queue unread, retract
    the fact by its id; nothing more."""

    def __init__(self, engine: Engine, facts: list[dict[str, Any]]) -> None:
        import durable_rules_engine

        from ..compiler import compile_ruleset
        from ..durable_limits import split_rulesets
        from ..evaluator import FactWriter
        from ..evaluator import durable_json

        self.core = durable_rules_engine
        encode = durable_json()
        self.handles = [
            self.core.create_ruleset(f"bench-core-{os.getpid()}-{i}", encode(d))
            for i, d in enumerate(split_rulesets(compile_ruleset(engine.ruleset)))]
        # the fact written as the engine writes it: the floor is the C core's own cost
        writer = FactWriter(engine.ruleset, encode)
        self.write, self.retraction = writer.text, writer.retraction
        self.facts = [(fact, str(i)) for i, fact in enumerate(facts)]

    def seconds(self, start: int = 0, stop: int | None = None) -> float:
        core, write, retraction_of, handles = self.core, self.write, self.retraction, self.handles
        assert_fact, start_action = core.assert_fact, core.start_action_for_state
        complete, retract = core.complete_and_start_action, core.retract_fact
        facts = self.facts[start:stop]
        began = time.perf_counter()
        for fact, mid in facts:
            text = write(fact, "1", mid)
            retraction = retraction_of("1", mid)
            for handle in handles:
                _, state = assert_fact(handle, text)
                if start_action(handle, state):
                    while complete(handle, state):
                        pass
                retract(handle, retraction)
        return time.perf_counter() - began

    def close(self) -> None:
        for handle in self.handles:
            self.core.delete_ruleset(handle)
        self.handles = []


class RawDurable:
    """durable's Python ``Host`` alone on the compiled rules: assert, fire, delete; nothing more."""

    def __init__(self, engine: Engine, facts: list[dict[str, Any]]) -> None:
        import copy

        from ..compiler import compile_ruleset
        from ..durable_limits import split_rulesets
        from ..evaluator import _quiet_host

        self.host = _quiet_host()
        self.names = []
        for i, shard in enumerate(split_rulesets(compile_ruleset(engine.ruleset))):
            definitions = copy.deepcopy(shard)
            for definition in definitions.values():
                definition["run"] = lambda c: None
            name = f"bench-raw-{os.getpid()}-{i}"
            self.host.set_rulesets({name: definitions})
            self.names.append(name)
        self.messages = _messages(engine, facts)

    def seconds(self, start: int = 0, stop: int | None = None) -> float:
        host, names = self.host, self.names
        messages = self.messages[start:stop]
        began = time.perf_counter()
        for m in messages:
            for name in names:
                host.assert_fact(name, m)
                host.delete_state(name, m["sid"])
        return time.perf_counter() - began

    def close(self) -> None:
        import durable_rules_engine

        for name in self.names:
            durable_rules_engine.delete_ruleset(self.host.get_ruleset(name)._handle)
        self.names = []


def end_to_end_seconds(engine: Engine, profiles: list[Any]) -> float:
    """Every profile scored and explained through the many-profile API sweeps use."""
    start = time.perf_counter()
    for _ in engine.score_iter(profiles):
        pass
    return time.perf_counter() - start


def durable_rounds(engine: Engine, profiles: list[Any], facts: list[dict[str, Any]],
                   rounds: int = ROUNDS) -> dict[str, float]:
    """End to end, one call at a time, and the floor, on the same slices of profiles in turn.

    A shared machine drifts in speed by tens of percent over seconds. Each
    slice is timed three ways back to back, so the shares compare runs made
    under the same conditions; every figure is the median over all slices.
    """
    raw, core = RawDurable(engine, facts), CoreDurable(engine, facts)
    rates: dict[str, list[float]] = {"e2e": [], "single": [], "raw": [], "core": []}
    shares: dict[str, list[float]] = {"e2e": [], "single": [], "e2e_core": []}
    try:
        for _ in range(rounds):
            for start in range(0, len(profiles), CHUNK):
                part = profiles[start:start + CHUNK]
                took = {
                    "e2e": end_to_end_seconds(engine, part),
                    "single": _seconds(engine.score, part),
                    "raw": raw.seconds(start, start + CHUNK),
                    "core": core.seconds(start, start + CHUNK),
                }
                for k, t in took.items():
                    rates[k].append(len(part) / t)
                shares["e2e"].append(took["raw"] / took["e2e"])
                shares["single"].append(took["raw"] / took["single"])
                shares["e2e_core"].append(took["core"] / took["e2e"])
    finally:
        raw.close()
        core.close()
    out = {k: statistics.median(v) for k, v in rates.items()}
    out.update({f"{k}_share": statistics.median(v) for k, v in shares.items()})
    return out


def reference_rate(engine: Engine, facts: list[dict[str, Any]],
                   rounds: int = ROUNDS) -> float:
    """Facts a second through ``ReferenceEvaluator.points_row``, the median of ``rounds``
    passes, on the facts prepared as rows, as the sweeps prepare theirs; the function is
    generated and compiled before the clock starts (a few milliseconds once per rule set,
    which over 2,000 facts would halve the figure)."""
    from ..reference import ReferenceEvaluator

    # every target's points from one pass over the fact: firing and points together
    reference = ReferenceEvaluator(engine.ruleset)
    rows = [reference.row(fact) for fact in facts]
    points = reference.points_row
    points(rows[0])
    return statistics.median(_rate(points, rows) for _ in range(rounds))


def peak_rss_mb(n: int) -> float:
    """Peak RSS of a fresh process that scores n generated profiles one at a time."""
    out = subprocess.run(
        [sys.executable, "-m", "engine.bench.run", "--rss-child", str(n)],
        capture_output=True, text=True, check=True,
    )
    return float(out.stdout.strip())


def own_peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` survives the fork and exec that start a
    child, so a child would report its parent's peak whenever that was higher.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux and the BSDs, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _rss_child(n: int) -> None:
    with Engine.load() as engine:
        for profile in random_profiles(n, seed=SEED):
            try:
                engine.score(profile)
            except GroupViolation:
                pass
    print(own_peak_rss_mb())


# the measurements run() makes in turn, for a progress bar
PHASES = 7


def run(n: int = 2000, rss_n: int | None = None, draws: int = 10_000,
        progress: Callable[[int], object] | None = None) -> dict[str, Any]:
    """Every figure; ``progress`` is called after each of the PHASES measurements."""
    step = progress or (lambda _n: None)
    from ..analysis.sensitivity import analyse

    profiles = list(random_profiles(n, seed=SEED))
    facts = [flatten(p) for p in profiles]
    figures: dict[str, Any] = {"profiles": n}
    with Engine.load() as engine:
        rates = durable_rounds(engine, profiles, facts)
        figures["profiles_per_s"] = round(rates["e2e"])
        figures["single_profiles_per_s"] = round(rates["single"])
        figures["raw_durable_profiles_per_s"] = round(rates["raw"])
        figures["durable_core_profiles_per_s"] = round(rates["core"])
        figures["durable_share_of_core"] = round(rates["e2e_core_share"], 3)
        figures["durable_share_of_raw"] = round(rates["e2e_share"], 3)
        figures["single_share_of_raw"] = round(rates["single_share"], 3)
        step(1)
        figures["reference_profiles_per_s"] = round(reference_rate(engine, facts))
        step(1)
        loaded, _ = engine.load_profiles(bundled_dir("profiles"))
        start = time.perf_counter()
        analyse(engine, [lp.profile for lp in loaded], draws=draws, seed=1, fact_rate=0.0)
        figures["sensitivity_draws_per_s"] = round(draws / (time.perf_counter() - start))
        figures["sensitivity_partners"] = len(loaded)
        step(1)
    with Engine.load(evaluator="reference") as ref:
        figures["reference_end_to_end_profiles_per_s"] = round(
            len(profiles) / end_to_end_seconds(ref, profiles))
    step(1)
    rss_n = rss_n or n
    figures["rss_profiles"] = rss_n
    figures["peak_rss_mb"] = peak_rss_mb(rss_n)
    step(1)
    figures["peak_rss_mb_10x"] = peak_rss_mb(10 * rss_n)
    step(1)
    figures["peers"] = peers(n)
    step(1)
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return figures


def peers(n: int) -> dict[str, float] | None:
    """Other rule engines on the same rules and profiles (benchmarks/peers.py): engine ->
    profiles/s, measured in one run after checking that they all agree; None when the
    'peers' extra is not installed or the source tree's benchmarks/ is not beside us."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "peers.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("latticework_bench_peers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the script defines dataclasses, which look it up
    spec.loader.exec_module(module)
    if not module.available():
        return None
    return module.peers_rates(n)


def text(figures: dict[str, Any]) -> str:
    lines = [f"latticework benchmark ({figures['machine']}), {figures['profiles']} generated profiles"]
    rows = [
        ("end to end, durable_rules (explained)", f"{figures['profiles_per_s']:,} profiles/s"),
        ("  one Engine.score call at a time", f"{figures['single_profiles_per_s']:,} profiles/s"),
        ("durable_rules C core floor", f"{figures['durable_core_profiles_per_s']:,} profiles/s"),
        ("  end to end as a share of the C core floor", f"{figures['durable_share_of_core']:.0%}"),
        ("durable_rules Host floor", f"{figures['raw_durable_profiles_per_s']:,} profiles/s"),
        ("  end to end as a share of the Host floor", f"{figures['durable_share_of_raw']:.0%}"),
        ("  one at a time as a share of the Host floor", f"{figures['single_share_of_raw']:.0%}"),
        ("reference evaluator (firing + points)", f"{figures['reference_profiles_per_s']:,} profiles/s"),
        ("end to end, reference evaluator", f"{figures['reference_end_to_end_profiles_per_s']:,} profiles/s"),
        (f"peak RSS, {figures['rss_profiles']:,} profiles", f"{figures['peak_rss_mb']} MB"),
        (f"peak RSS, {10 * figures['rss_profiles']:,} profiles", f"{figures['peak_rss_mb_10x']} MB"),
        (f"sensitivity over {figures['sensitivity_partners']} partners",
         f"{figures['sensitivity_draws_per_s']:,} draws/s"),
    ]
    if figures.get("peers"):
        base = figures["peers"]["latticework"]
        rows.append(("peers, same rules and profiles, same run:", ""))
        rows += [(f"  {name}", f"{rate:,.0f} profiles/s ({rate / base:.2f}x)")
                 for name, rate in figures["peers"].items()]
    else:
        rows.append(("peers", "not measured (pip install -e '.[peers]')"))
    width = max(len(r[0]) for r in rows)
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: Iterable[str]) -> None:
    args = list(argv)
    if args[:1] == ["--rss-child"]:
        _rss_child(int(args[1]))
        return
    raise SystemExit("usage: python -m engine.bench.run --rss-child N (use 'latticework bench')")


if __name__ == "__main__":
    main(sys.argv[1:])

