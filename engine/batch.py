"""Batches: which files a ranking holds, chunks scored here or in worker processes,
results ranked or records spooled in rank order.

``Engine.batch`` and ``Engine.batch_stream`` are the entry points; this module is the
machinery behind them, apart so that the API stays one page.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Literal
from typing import TypedDict
from typing import overload

from .errors import DurableEngineError
from .errors import EvaluationError
from .errors import display_path
from .filelist import FileList
from .loader import load_files
from .loader import profile_files
from .results import BatchResult
from .results import ErrorOut
from .results import ProfileResult
from .results import Selection
from .streaming import RankedBatch
from .streaming import Record
from .streaming import Spool

if TYPE_CHECKING:  # pragma: no cover
    from .api import Engine
    from .profile_cache import ProfileCache

# Profiles per chunk in score_iter: large enough to keep each phase's working set hot,
# small enough that a chunk's facts and firings stay a few hundred kilobytes.
CHUNK = 256

SORT_KEYS = {
    "deterrence": lambda r: (-r.deterrence.score, r.profile),
    "alignment-risk": lambda r: (-r.alignment_risk.score, r.profile),
    "key": lambda r: (r.profile,),
    "name": lambda r: (r.name, r.profile),
}


class BatchOptions(TypedDict, total=False):
    """How ``Engine.batch`` and ``Engine.batch_stream`` rank and run."""

    sort: str  # a key of SORT_KEYS; default deterrence
    jobs: int  # worker processes; default 1
    progress: Callable[[int], None] | None  # told how many files each finished chunk held
    edition: int | None  # only the profiles dated in that year
    every_snapshot: bool  # every snapshot, several per country (default: the latest)


def _plan(profiles_dir: str | Path | None, options: BatchOptions
          ) -> tuple[Chunks, int, Selection, bool]:
    """The chunks to score, the workers to use, what the ranking holds, and whether the
    chunks go to worker processes (whose pipes select() watches: POSIX only)."""
    from .api import bundled_dir

    _check_sort(options.get("sort", "deterrence"))
    paths, selection = select_snapshots(
        profile_files(profiles_dir or bundled_dir("profiles")), options.get("edition"),
        options.get("every_snapshot", False))
    chunks, jobs = _chunks(paths, options.get("jobs", 1))
    return chunks, jobs, selection, jobs > 1 and len(chunks) > 1 and os.name == "posix"


def batch(engine: Engine, profiles_dir: str | Path | None, options: BatchOptions) -> BatchResult:
    """See ``Engine.batch``."""
    chunks, jobs, selection, parallel = _plan(profiles_dir, options)
    sort, progress = options.get("sort", "deterrence"), options.get("progress")
    results: list[ProfileResult] = []
    errors: list[ErrorOut] = []
    with _fewer_collections(), _batch_cache() as cache:
        if parallel:
            done = _parallel(engine, chunks, jobs, cache)
        else:
            done = (_load_and_score(engine, chunk, cache) for chunk in chunks)
        # to the end of ``done``, so that workers are shut down in order, not killed
        for files, (scored, failed) in zip(chunks.lengths(), done, strict=True):
            results += scored
            errors += failed
            if progress:
                progress(files)
    results.sort(key=SORT_KEYS[sort])
    errors.sort(key=lambda e: (e.source, e.message))
    return BatchResult(ruleset=engine.info, results=tuple(results), errors=tuple(errors),
                       selection=selection)


def batch_stream(engine: Engine, record: Record, profiles_dir: str | Path | None,
                 options: BatchOptions) -> RankedBatch:
    """See ``Engine.batch_stream``."""
    chunks, jobs, selection, parallel = _plan(profiles_dir, options)
    sort, progress = options.get("sort", "deterrence"), options.get("progress")
    spool = Spool()
    errors: list[ErrorOut] = []
    try:
        with _fewer_collections(), _batch_cache() as cache:
            if parallel:
                done = _parallel(engine, chunks, jobs, cache, sort, record)
            else:
                _settle()
                done = (_load_and_record(engine, chunk, sort, record, cache) for chunk in chunks)
            # to the end of ``done``, so that workers are shut down in order, not killed
            for files, (records, failed) in zip(chunks.lengths(), done, strict=True):
                for key, data in records:
                    spool.add(key, data)
                errors += failed
                if progress:
                    progress(files)
    except BaseException:
        spool.close()
        raise
    errors.sort(key=lambda e: (e.source, e.message))
    return RankedBatch(engine.info, tuple(errors), selection, spool)


def _check_sort(sort: object) -> None:
    """Checked before any file is read, so that a typo costs nothing."""
    accepted = ", ".join(repr(k) for k in SORT_KEYS)
    if not isinstance(sort, str):
        raise TypeError(f"sort must be one of {accepted}, got {type(sort).__name__}")
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {accepted}, got {sort!r}")


def select_snapshots(
    paths: Iterable[Path], edition: int | None = None, every_snapshot: bool = False
) -> tuple[FileList, Selection]:
    """The files a ranking holds: by default the latest snapshot of each country, with
    ``edition`` only the profiles dated in that year, with ``every_snapshot`` all of them;
    in name order.

    Chosen by file name (the key), before any file is read; a file whose name is not a
    key is always kept, so that loading reports it rather than the selection hiding it.
    """
    if every_snapshot and edition is not None:
        raise ValueError("choose an edition or every snapshot, not both")
    files = paths if isinstance(paths, FileList) else FileList.of(paths)
    mode: Literal["latest", "edition", "all"]
    if every_snapshot:
        chosen, mode = files, "all"
    elif edition is not None:
        chosen = files.keep(t for t, _, year in map(_snapshot, files.names())
                            if year is None or year == edition)
        mode = "edition"
    else:
        chosen, mode = files.keep(_latest(files.names())), "latest"
    return chosen, Selection(mode, edition, len(chosen), len(files))


def _snapshot(text: str) -> tuple[str, str | None, int | None]:
    """A path (or a name), the country its name gives (before the ``@``), and the year
    when the name is a key."""
    country, at, year = os.path.splitext(os.path.basename(text))[0].partition("@")
    if not at:
        return text, None, None
    # isdecimal, not isdigit: int() refuses a superscript digit
    return text, country, int(year) if year.isdecimal() else None


def _latest(texts: Iterator[str]) -> Iterator[str]:
    """The latest snapshot of each country and every file not named as a key, from paths
    or names in name order, where a country's files stand together (all start ``country@``): one
    pass, one country held."""
    for _, group in groupby(map(_snapshot, texts), key=itemgetter(1)):
        snapshots = list(group)
        newest = max((year for _, _, year in snapshots if year is not None), default=None)
        yield from (t for t, _, year in snapshots if year is None or year == newest)


def _batch_cache() -> ProfileCache:
    """The profile cache a batch holds open for all its chunks (each chunk's entries
    committed as it ends). Opened and closed per chunk, the last connection's close
    copied the write-ahead log into the database and synced it to disk every 64
    files: a batch that filled the cache took 1.8 times as long as one without it."""
    from .profile_cache import open_cache  # sqlite3 is imported only for files

    return open_cache()


def _load_and_score(engine: Engine, paths: list[Path], cache: ProfileCache | None
                    ) -> tuple[list[ProfileResult], list[ErrorOut]]:
    """One chunk of a batch: every file's result or its own error record, never one
    file's problem for the whole chunk."""
    loaded, load_errors = load_files(paths, engine.ruleset.catalog, cache)
    errors = [ErrorOut.of(e) for e in load_errors]
    try:
        results, eval_errors = engine.score_many(loaded)
    except EvaluationError:
        # durable_rules refused a profile, or disagreed with the reference evaluator on
        # one: the chunk is scored again a profile at a time, so only that one fails
        results, eval_errors = [], []
        for lp in loaded:
            try:
                one, failed = engine.score_many([lp])
            except EvaluationError as exc:
                one, failed = [], [ErrorOut.of(exc, lp.file)]
            results += one
            eval_errors += failed
    return results, errors + eval_errors


class Chunks(Sequence[list[Path]]):
    """Files in chunks of ``size``, each made into ``Path`` objects only when it is taken."""

    def __init__(self, files: FileList, size: int) -> None:
        self.files, self.size = files, size

    def __len__(self) -> int:
        return -(-len(self.files) // self.size)

    def lengths(self) -> Iterator[int]:
        """How many files each chunk holds, without making their paths (a progress bar
        needs no more)."""
        total = len(self.files)
        return (min(self.size, total - start) for start in range(0, total, self.size))

    @overload
    def __getitem__(self, i: int) -> list[Path]: ...

    @overload
    def __getitem__(self, i: slice) -> list[list[Path]]: ...

    def __getitem__(self, i: int | slice) -> list[Path] | list[list[Path]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("chunk index out of range")
        return list(self.files[i * self.size:(i + 1) * self.size])


def _chunks(files: FileList, jobs: int) -> tuple[Chunks, int]:
    """The files in chunks for ``jobs`` processes (capped at the processors), and the jobs."""
    jobs = max(1, min(jobs, available_processors()))
    return Chunks(files, max(1, min(64, -(-len(files) // jobs)))), jobs


def _load_and_record(
    engine: Engine, paths: list[Path], sort: str, record: Record, cache: ProfileCache | None
) -> tuple[list[tuple[tuple, bytes]], list[ErrorOut]]:
    """One chunk of a streaming batch: each result as its sort key and rendered bytes."""
    results, errors = _load_and_score(engine, paths, cache)
    key = SORT_KEYS[sort]
    return [(key(r), record(r)) for r in results], errors


def _settle() -> None:
    """Called once the rule set is loaded, before a batch: the objects alive now (the
    modules, the rules, the compiled tables) live as long as the process, so the
    collector stops walking them on every full collection of the batch's garbage."""
    gc.collect()
    gc.freeze()


# Objects a batch may allocate, net, before the cycle collector looks at the young ones:
# about one chunk's worth (64 profiles and their results, some 230 tracked objects a file).
# At CPython's default of 700, a chunk's profiles, alive until the chunk is scored, were
# collected some twenty times and walked again by every older generation's collection:
# over 2,000 files, 652 + 59 + 5 collections took a tenth of the batch, and found 647
# objects in cycles. Garbage in cycles still goes, a chunk later at most.
YOUNG_OBJECTS = 20_000

_collector_lock = threading.Lock()
_collector_users = 0
_collector_saved: tuple[int, ...] = ()


def _raise_young_threshold(threshold: tuple[int, ...]) -> None:
    # 0 means the caller turned automatic collection off: it stays off
    if 0 < threshold[0] < YOUNG_OBJECTS:
        gc.set_threshold(YOUNG_OBJECTS, *threshold[1:])


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cycle collector's youngest threshold raised to ``YOUNG_OBJECTS`` for a batch,
    and put back as it was once the last batch running in this process ends."""
    global _collector_users, _collector_saved
    with _collector_lock:
        if _collector_users == 0:
            _collector_saved = gc.get_threshold()
            _raise_young_threshold(_collector_saved)
        _collector_users += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_users -= 1
            if _collector_users == 0:
                gc.set_threshold(*_collector_saved)


_worker_engine: Engine | None = None
_worker_record: tuple[str, Record] | None = None
# a worker's own connection to the profile cache, open as long as the worker: it is
# never closed, as the worker ends when its parent does, but each chunk's entries are
# committed as the chunk ends
_worker_cache: ProfileCache | None = None


def _worker_init(rules_dir: str, evaluator: str, sort: str | None = None,
                 record: Record | None = None) -> None:
    global _worker_engine, _worker_record, _worker_cache
    from .api import Engine

    _worker_engine = Engine.load(rules_dir, evaluator=evaluator)
    _worker_cache = _batch_cache()
    _worker_record = (sort, record) if sort is not None and record is not None else None
    _settle()
    _raise_young_threshold(gc.get_threshold())  # a worker runs batches only, as long as it lives


def _worker(paths: list[Path]) -> tuple[list, list[ErrorOut]]:
    """A chunk's results, or with a record function (``batch_stream``) its rendered
    records: a few kilobytes to send back rather than explanation graphs to unpickle."""
    assert _worker_engine is not None
    if _worker_record is not None:
        return _load_and_record(_worker_engine, paths, *_worker_record, _worker_cache)
    return _load_and_score(_worker_engine, paths, _worker_cache)


def available_processors() -> int:
    """The processors this process may run on (its affinity mask where it has one):
    more workers than that only add start-up time and memory."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _parallel(
    engine: Engine, chunks: Chunks, jobs: int, cache: ProfileCache,
    sort: str | None = None, record: Record | None = None,
) -> Iterator[tuple[list, list[ErrorOut]]]:
    """The chunks scored by ``jobs`` processes: this one, which has its engine loaded
    already and scores while the others start, and ``jobs - 1`` workers."""
    # Not multiprocessing: see engine/workers.py (no re-import of __main__, no fork of
    # the durable_rules tables, workers that end with their parent).
    from .workers import Pool
    from .workers import WorkerLost

    def here(paths: list[Path]) -> tuple[list, list[ErrorOut]]:
        if sort is not None and record is not None:
            return _load_and_record(engine, paths, sort, record, cache)
        return _load_and_score(engine, paths, cache)

    initargs = (engine.ruleset.directory, engine.evaluator.name, sort, record)
    with Pool(min(jobs, len(chunks)) - 1, _worker_init, initargs, _worker) as pool:
        _settle()
        try:
            yield from pool.map(chunks, local=here)
        except WorkerLost as lost:
            files = [display_path(f) for f in lost.task or []]
            which = " and ".join(files) or "no file"
            if len(files) > 2:
                which = f"{files[0]}, {files[-1]} and the {len(files) - 2} files between"
            raise DurableEngineError(
                f"a scoring process {lost.how} while scoring {which}; the batch was "
                "stopped") from None
