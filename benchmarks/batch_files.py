"""``latticework batch`` over many profile files: time, peak memory, and the same bytes.

    .venv/bin/python benchmarks/batch_files.py --files 10000 [--dir DIR] [--jobs 2] [--rounds 3]
                                               [--format json]

Writes N profile files (the bench's seeded generator, every known fact with a source, a
confidence and a note, as real profiles carry them; kept in ``--dir`` for later runs)
and runs the real command on them, each run a fresh process:

* ``cold``: ``LATTICEWORK_NO_CACHE=1``, every file parsed and validated;
* ``filling``: the profile cache on, empty (it is written as the files are read);
* ``warm``: the cache on and full (no file is parsed);
* ``cold --jobs J`` for each J of ``--jobs``.

``--runs`` picks some of them (``--runs cold`` for a memory check at 100,000 files);
``--rounds R`` makes them all R times over, in the same order, and reports medians and
each run's ratio to the cold run of its own round (the machine's speed drifts over
minutes, so a ratio between runs of different moments says little).

Each run is timed whole (start-up included) and its peak resident memory is the
process's own ``VmHWM``, written as it ends (with ``--jobs``, the main process's; the
kernel's ``wait4`` account, where there is no ``/proc``, would count this script's pages
too). Every run must write the same bytes, or the script fails.
The cache is kept in a temporary directory, never the user's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from engine.bench.run import SEED
from engine.bench.synthetic import random_profile_data
from engine.fields import field_specs

SOURCE = "partnerships-2022#shifting-alignments"  # a catalogued source and section
CONFIDENCES = ("stated-in-document", "found-in-public-text", "provisional")


def profile_document(rng: random.Random, index: int) -> dict[str, Any]:
    """A generated profile as a file holds it: each known fact with its provenance."""
    data = random_profile_data(rng, index)
    year = data["as_of"].year
    for path, spec in field_specs().items():
        section, dot, name = path.partition(".")
        if not dot or name not in data.get(section, {}):
            continue
        fact: dict[str, Any] = {
            "value": data[section][name], "source": SOURCE,
            "confidence": rng.choice(CONFIDENCES),
            "note": "A generated fact with a note of some length, as real profiles carry one.",
        }
        if spec.max_age is not None:
            fact["period"] = str(year)
        data[section][name] = fact
    return data


def write_profiles(directory: Path, n: int, seed: int = SEED) -> None:
    """N profile files named after their keys; files already there are kept."""
    directory.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    rng = random.Random(seed)
    for i in range(n):
        data = profile_document(rng, i)
        target = directory / f"{data['country']}@{data['as_of'].year}.yaml"
        if not target.exists():
            with target.open("w", encoding="utf-8") as fh:
                yaml.dump(data, fh)


# Runs the CLI and, as it ends, writes its own peak resident memory (VmHWM) to the file
# named first: the kernel's account from wait4 (ru_maxrss) includes the moments between
# fork and exec, when the child still counts this script's pages, which at 100,000 files
# are more than the batch's own.
LAUNCHER = """
import atexit, runpy, sys
def peak(path=sys.argv[1]):
    try:
        with open('/proc/self/status') as status:
            kb = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    except (OSError, StopIteration):
        return
    with open(path, 'w') as out:
        out.write(kb)
atexit.register(peak)
sys.argv = ['latticework', *sys.argv[2:]]
runpy.run_module('engine.cli', run_name='__main__', alter_sys=True)
"""


def run_batch(profiles: Path, output: Path, env: dict[str, str],
              jobs: int) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one ``latticework batch`` process: its own peak where
    Linux tells it (``VmHWM``; with ``--jobs`` the main process's, each worker holds
    about as much), else the kernel's account of the child and its workers."""
    peak_file = output.with_suffix(".peak")
    command = [sys.executable, "-c", LAUNCHER, str(peak_file), "batch", "--profiles",
               str(profiles), "--all", "--format", "csv", "-o", str(output), "--jobs", str(jobs)]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    assert child.stderr is not None
    with child.stderr:
        errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"batch failed ({child.returncode}): {errors.decode()[-2000:]}")
    if peak_file.exists():
        kb = float(peak_file.read_text())
        peak_file.unlink()
        return took, kb / 1024
    # ru_maxrss is in kilobytes on Linux and the BSDs, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return took, usage.ru_maxrss / scale


RUNS = ("cold", "filling", "warm", "jobs")


def measure(files: int, directory: Path, jobs: list[int],
            runs_wanted: tuple[str, ...] = RUNS, rounds: int = 1) -> dict[str, Any]:
    """Every wanted run, ``rounds`` times over in the same order (each round with a cache of
    its own): the machine's speed drifts over minutes, so a run's ratio to the cold run is
    taken within its round, and the medians are reported."""
    write_profiles(directory, files)
    count = len(list(directory.glob("*.yaml")))
    taken: dict[str, list[tuple[float, float]]] = {}
    digests: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="latticework-batch-bench-") as scratch:
        plan = [("cold", {"LATTICEWORK_NO_CACHE": "1"}, 1), ("filling", {}, 1),
                ("warm", {}, 1)]
        plan = [step for step in plan if step[0] in runs_wanted]
        if "warm" in runs_wanted and "filling" not in runs_wanted:
            raise SystemExit("a warm run needs the filling run before it")
        if "jobs" in runs_wanted:
            plan += [(f"cold --jobs {j}", {"LATTICEWORK_NO_CACHE": "1"}, j) for j in jobs]
        for round_no in range(rounds):
            base = dict(os.environ,
                        LATTICEWORK_CACHE_DIR=str(Path(scratch) / f"cache-{round_no}"))
            base.pop("LATTICEWORK_NO_CACHE", None)
            for label, extra, j in plan:
                out = Path(scratch) / "out.csv"
                taken.setdefault(label, []).append(
                    run_batch(directory, out, dict(base, **extra), j))
                digests[f"{label} #{round_no}"] = hashlib.sha256(out.read_bytes()).hexdigest()
                out.unlink()
    if len(set(digests.values())) != 1:
        raise SystemExit(f"the runs wrote different outputs: {digests}")
    runs: dict[str, dict[str, Any]] = {}
    for label, each in taken.items():
        seconds = statistics.median(t for t, _ in each)
        runs[label] = {"seconds": round(seconds, 2), "profiles_per_s": round(count / seconds),
                       "peak_rss_mb": round(max(m for _, m in each), 1)}
        if rounds > 1:
            runs[label]["seconds_each"] = [round(t, 2) for t, _ in each]
        if label != "cold" and "cold" in taken:
            ratios = [c / t for (c, _), (t, _) in zip(taken["cold"], each, strict=True)]
            runs[label]["x_cold"] = round(statistics.median(ratios), 2)
            if rounds > 1:
                runs[label]["x_cold_each"] = [round(r, 2) for r in ratios]
    return {"files": count, "rounds": rounds, "runs": runs,
            "output_sha256": next(iter(digests.values())),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="profile files (10000)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the files are written and kept (default: a temporary one)")
    parser.add_argument("--jobs", type=int, action="append", default=None,
                        help="also a cold run with --jobs J (repeatable; default 2)")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help=f"which runs, comma-separated ({','.join(RUNS)})")
    parser.add_argument("--rounds", type=int, default=1,
                        help="all the runs this many times over; medians, and each run's "
                        "ratio to the cold run of its own round (1)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.files < 1:
        parser.error("--files must be at least 1")
    jobs = args.jobs if args.jobs is not None else [2]
    wanted = tuple(r.strip() for r in args.runs.split(",") if r.strip())
    if not wanted or set(wanted) - set(RUNS):
        parser.error(f"--runs takes some of {', '.join(RUNS)}")
    if args.dir is None:
        with tempfile.TemporaryDirectory(prefix="latticework-profiles-") as where:
            figures = measure(args.files, Path(where), jobs, wanted, args.rounds)
    else:
        figures = measure(args.files, args.dir, jobs, wanted, args.rounds)
    if args.format == "json":
        print(json.dumps(figures, indent=2))
        return
    rounds = figures["rounds"]
    print(f"latticework batch over {figures['files']:,} files ({figures['machine']})"
          + (f", medians of {rounds} rounds" if rounds > 1 else ""))
    for label, run in figures["runs"].items():
        ratio = f"  x{run['x_cold']:.2f}" if "x_cold" in run else ""
        if "x_cold_each" in run:
            ratio += f" ({min(run['x_cold_each']):.2f}-{max(run['x_cold_each']):.2f})"
        print(f"  {label:16s} {run['seconds']:7.2f} s  {run['profiles_per_s']:6,} profiles/s  "
              f"peak RSS {run['peak_rss_mb']:6.1f} MB{ratio}")
    print(f"  every run wrote the same bytes (sha256 {figures['output_sha256'][:16]}...)")


if __name__ == "__main__":
    main()
