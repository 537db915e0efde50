"""batch --jobs: capped at the processors, no __main__ guard needed, workers that end with
their parent, a lost worker an error rather than a traceback (issue 15, "Bounded resources")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import DurableEngineError
from engine import Engine
from engine import InputError
from engine import batch as batching
from engine import bundled_dir
from engine.errors import LoadError
from engine.workers import Pool
from engine.workers import WorkerLost

from .helpers import run_cli as run

ROOT = Path(__file__).parent.parent




def test_jobs_above_the_processors_are_capped_with_a_note(monkeypatch):
    monkeypatch.setattr(batching, "available_processors", lambda: 1)
    one = run("batch", "--format", "json")
    many = run("batch", "--format", "json", "--jobs", "8")
    assert many.exit_code == one.exit_code == 0
    assert many.stderr == "note: --jobs 8 is more than the 1 processor available; using 1\n"
    assert many.stdout_bytes == one.stdout_bytes


def test_jobs_are_capped_in_the_api_too(engine, monkeypatch):
    asked = []

    def parallel(engine_, chunks, jobs, cache, sort=None, record=None):
        asked.append(jobs)
        return (batching._load_and_score(engine, chunk, cache) for chunk in chunks)

    monkeypatch.setattr(batching, "available_processors", lambda: 2)
    monkeypatch.setattr(batching, "_parallel", parallel)
    result = engine.batch(jobs=64, every_snapshot=True)
    assert asked == [2] and result.results


def test_batch_needs_no_main_guard(tmp_path: Path):
    """spawn re-imported the script in each worker, which started the batch again."""
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent("""
        import json
        from engine import batch as batching
        from engine import Engine

        batching.available_processors = lambda: 4  # two workers even on one processor
        with Engine.load() as e:
            many = e.batch(jobs=2, every_snapshot=True)
            one = e.batch(jobs=1, every_snapshot=True)
        print(json.dumps([many.model_dump(mode="json") == one.model_dump(mode="json"),
                          len(many.results)]))
    """))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    same, n = json.loads(done.stdout)
    assert same and n == len(list(bundled_dir("profiles").glob("*.yaml")))


# --- workers and their parent ---------------------------------------------------------------

PARENT = textwrap.dedent("""
    import os, signal
    from engine.api import bundled_dir
    from engine.batch import _worker, _worker_init
    from engine.workers import Pool

    pool = Pool(2, _worker_init, (str(bundled_dir("rules")), "durable"), _worker)
    path = sorted(bundled_dir("profiles").glob("*.yaml"))[0]
    busy, idle = pool.workers
    for w in pool.workers:  # an answer means the worker is running and tied to us
        w.send([path])
        w.receive(None)
    busy.send([path] * 5_000)  # a minute of work, or more
    print(busy.pid, idle.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")

# The harness adopts the orphaned workers (PR_SET_CHILD_SUBREAPER), so that it can wait
# for them and read how they ended: no polling, no timing.
HARNESS = textwrap.dedent("""
    import ctypes, json, os, subprocess, sys
    if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
        print(json.dumps(None)); sys.exit()
    parent = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE,
                              text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    parent.wait()
    ends = []
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        ends.append(["signal", os.WTERMSIG(status)] if os.WIFSIGNALED(status)
                    else ["exit", os.WEXITSTATUS(status)])
    print(json.dumps([parent.returncode, ends]))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_with_their_parent_even_in_the_middle_of_a_chunk():
    done = subprocess.run([sys.executable, "-c", HARNESS, PARENT], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    if outcome is None:
        pytest.skip("cannot become a child subreaper here")
    parent, (busy, idle) = outcome
    assert parent == -signal.SIGKILL
    assert busy == ["signal", signal.SIGKILL]  # killed by the kernel, not after its chunk
    # an idle worker sees end of file as its parent's files close, just before the signal
    assert idle in (["signal", signal.SIGKILL], ["exit", 0])


def _die(paths):
    os.kill(os.getpid(), signal.SIGKILL)


def _fail(paths):
    raise DurableEngineError("the engine refused")


def _fail_unpicklable(paths):
    raise LoadError("yaml-value", "x.yaml", line=3, detail="cannot be rebuilt from its args")


def test_a_lost_worker_is_an_error_naming_the_files(monkeypatch, profiles_copy: Path):
    monkeypatch.setattr(batching, "available_processors", lambda: 2)
    monkeypatch.setattr(batching, "_worker", _die)
    result = run("batch", "--all", "--jobs", "2", "--profiles", str(profiles_copy))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    assert "a scoring process was killed by SIGKILL while scoring" in result.stderr
    assert "the batch was stopped" in result.stderr


def test_a_worker_error_reaches_the_caller_as_itself(monkeypatch):
    monkeypatch.setattr(batching, "available_processors", lambda: 2)
    with Engine.load() as e:
        monkeypatch.setattr(batching, "_worker", _fail)
        with pytest.raises(DurableEngineError, match="the engine refused"):
            e.batch(jobs=2, every_snapshot=True)
        # LoadError's keyword arguments do not survive pickling: its family and message do
        monkeypatch.setattr(batching, "_worker", _fail_unpicklable)
        with pytest.raises(InputError, match="x.yaml, line 3"):
            e.batch(jobs=2, every_snapshot=True)


def test_a_pool_whose_worker_died_raises_worker_lost():
    path = sorted(bundled_dir("profiles").glob("*.yaml"))[0]
    with Pool(1, batching._worker_init, (str(bundled_dir("rules")), "durable"),
              batching._worker) as pool:
        pool.workers[0].proc.kill()
        pool.workers[0].proc.wait()
        with pytest.raises(WorkerLost) as lost:
            list(pool.map([[path]]))
    assert lost.value.status == -signal.SIGKILL and lost.value.task == [path]


def _nothing() -> None:
    pass


def _in_worker(task: int) -> tuple[str, int]:
    return ("worker", task)


def test_a_pool_and_its_parent_answer_in_the_order_of_the_tasks():
    """The parent scores chunks too, while its worker starts and beside it: answers still
    come in task order, the worker's included (it is sent the first tasks)."""
    with Pool(1, _nothing, (), _in_worker) as pool:
        answers = list(pool.map(list(range(20)), local=lambda task: ("parent", task)))
    assert [task for _, task in answers] == list(range(20))
    assert answers[0] == ("worker", 0)
    assert {who for who, _ in answers} <= {"worker", "parent"}


def test_a_pool_without_workers_is_its_parent_alone():
    with Pool(0, _nothing, (), _in_worker) as pool:
        assert list(pool.map([3, 1, 2], local=lambda task: ("parent", task))) == [
            ("parent", 3), ("parent", 1), ("parent", 2)]
