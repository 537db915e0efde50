"""The Python API: load a rule base once, score profiles with it.

    from engine import Engine
    engine = Engine.load()                     # the bundled rules
    result = engine.score("india@2022")        # by key, or by a file's path
    result.deterrence.score, result.alignment_risk.band

Nothing here prints; the CLI renders what these functions return.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Literal

from .errors import DurableEngineError
from .errors import EngineClosedError
from .errors import EvaluationError
from .errors import EvaluatorsDisagree
from .errors import GroupViolation
from .errors import LoadError
from .errors import LoadErrors
from .errors import UnknownProfileError
from .errors import display_path
from .evaluator import EVALUATORS
from .evaluator import Evaluator
from .evaluator import ReferenceEvaluator
from .fields import flatten
from .fields import suggest
from .loader import PROFILE_SUFFIX
from .loader import LoadedProfile
from .loader import check_profile_suffix
from .loader import is_key
from .loader import load_files
from .loader import load_profile
from .loader import load_profiles
from .loader import profile_files
from .profile import Profile
from .results import BatchResult
from .results import ErrorOut
from .results import ProfileResult
from .results import RulesetInfo
from .results import Selection
from .rule_loader import load_ruleset
from .rules import RuleSet
from .scoring import Scorer
from .streaming import RankedBatch
from .streaming import Record
from .streaming import Spool
from .trace import Trace
from .trace import Tracer

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(kind: Literal["rules", "profiles"]) -> Path:
    """The bundled rules or profiles: inside an installed wheel, else the source tree."""
    inside = _PACKAGE / "bundled" / kind
    return inside if inside.is_dir() else _PACKAGE.parent / kind


# Profiles per chunk in score_iter: large enough to keep each phase's working set hot,
# small enough that a chunk's facts and firings stay a few hundred kilobytes.
CHUNK = 256

SORT_KEYS = {
    "deterrence": lambda r: (-r.deterrence.score, r.profile),
    "alignment-risk": lambda r: (-r.alignment_risk.score, r.profile),
    "key": lambda r: (r.profile,),
    "name": lambda r: (r.name, r.profile),
}


class Engine:
    """A loaded, compiled rule base and the evaluator that runs it."""

    def __init__(
        self, ruleset: RuleSet, evaluator: str = "durable", cross_check: bool = True
    ) -> None:
        if evaluator not in EVALUATORS:
            raise ValueError(f"unknown evaluator {evaluator!r}; known: {', '.join(EVALUATORS)}")
        self.ruleset = ruleset
        self.evaluator: Evaluator = EVALUATORS[evaluator](ruleset)
        self._tracer = Tracer(ruleset)
        self._scorer = Scorer(ruleset)
        # The generated reference evaluator costs little next to a durable_rules session; running
        # them on every profile turns any disagreement into an error, never a wrong score.
        self._check = (
            ReferenceEvaluator(ruleset) if cross_check and evaluator != "reference" else None
        )
        self._closed = False

    @classmethod
    def load(
        cls,
        rules_dir: str | Path | None = None,
        *,
        evaluator: str = "durable",
        cross_check: bool = True,
    ) -> Engine:
        return cls(load_ruleset(rules_dir or bundled_dir("rules")), evaluator, cross_check)

    def close(self) -> None:
        self._closed = True
        self.evaluator.close()

    def _require_open(self) -> None:
        # a closed durable_rules ruleset answers with a bare C error code, or worse
        if self._closed:
            raise EngineClosedError()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def info(self) -> RulesetInfo:
        return RulesetInfo(rules=len(self.ruleset.rules), digest=self.ruleset.digest)

    # --- one profile -------------------------------------------------------------------------

    def fired(self, profile: Profile, fact: dict | None = None) -> frozenset[str]:
        self._require_open()
        fact = flatten(profile) if fact is None else fact
        fired = self.evaluator.fired(fact)
        if self._check is not None:
            expected = self._check.fired(fact)
            if fired != expected:
                raise EvaluatorsDisagree(
                    f"{profile.key}: durable_rules fired {sorted(fired - expected)} "
                    f"and missed {sorted(expected - fired)} compared with the reference evaluator"
                )
        return fired

    def trace(
        self, profile: Profile | str | Path, full: bool = True
    ) -> tuple[ProfileResult, Trace]:
        """The result and the trace: the rules that fired and the bounding, and with
        ``full`` an event for every rule that did not fire."""
        t = self._traced(profile, full)
        result = self._scorer.score(t)
        return result, t.with_events(self._scorer.bounding(result))

    def score(self, profile: Profile | str | Path,
              profiles_dir: str | Path | None = None) -> ProfileResult:
        """Score a Profile, a profile named by key (``"india@2022"``, looked up in
        ``profiles_dir``, default the bundled profiles) or a profile file's path."""
        self._require_open()
        if isinstance(profile, (str, os.PathLike)):
            profile = self.find_profile(profile, profiles_dir).profile
        return self._scorer.score(self._traced(profile, full=False))

    def _traced(self, profile: Profile | str | Path, full: bool) -> Trace:
        profile = self._as_profile(profile)
        fact = flatten(profile)
        return self._tracer.trace(profile, fact, self.fired(profile, fact),
                                  self.evaluator.name, full, checked=self._check is not None)

    def _as_profile(self, profile: Profile | str | Path) -> Profile:
        if isinstance(profile, Profile):
            return profile
        if not isinstance(profile, (str, os.PathLike)):
            raise TypeError(f"expected a Profile or the path of a profile file (str or Path), "
                            f"got {type(profile).__name__}")
        return load_profile(profile, self.ruleset.catalog).profile

    # --- many profiles -----------------------------------------------------------------------

    def load_profiles(
        self, profiles_dir: str | Path | None = None
    ) -> tuple[list[LoadedProfile], list[LoadError]]:
        return load_profiles(profiles_dir or bundled_dir("profiles"), self.ruleset.catalog)

    def profile_files(self, profiles_dir: str | Path | None = None) -> list[Path]:
        """The profile files of a directory (default: the bundled profiles), sorted."""
        return profile_files(Path(profiles_dir or bundled_dir("profiles")))

    def find_profile(
        self, key_or_file: str | Path, profiles_dir: str | Path | None = None
    ) -> LoadedProfile:
        """A profile by key (``india@2022``, the file ``india@2022.yaml``) or by file path."""
        text = str(key_or_file)
        if not is_key(text) or Path(text).exists():
            return load_profile(text, self.ruleset.catalog)
        directory = Path(profiles_dir or bundled_dir("profiles"))
        files = profile_files(directory)
        # KEY.yaml first; a KEY.yml or KEY.YAML alone is reported, as in a batch
        for path in sorted(files, key=lambda p: p.suffix != PROFILE_SUFFIX):
            if path.stem == text:
                check_profile_suffix(path)
                return load_profile(path, self.ruleset.catalog)
        raise UnknownProfileError(text, suggest(text, [p.stem for p in files]))

    def score_iter(
        self, profiles: Iterable[Profile]
    ) -> Iterator[ProfileResult | GroupViolation]:
        """Score many profiles, in order: each one's result, or the group violation that
        stopped it. A broken engine raises instead.

        durable_rules runs over a chunk of profiles before their explanations are
        built, so that each phase finds its own code and tables still in the
        processor's caches; alternating per profile costs about a tenth more.
        """
        it = iter(profiles)
        while chunk := list(islice(it, CHUNK)):
            facts = [flatten(p) for p in chunk]
            firings = [self.fired(p, f) for p, f in zip(chunk, facts, strict=True)]
            checked = self._check is not None
            for profile, fact, fired in zip(chunk, facts, firings, strict=True):
                t = self._tracer.trace(profile, fact, fired, self.evaluator.name, full=False,
                                       checked=checked)
                try:
                    yield self._scorer.score(t)
                except GroupViolation as exc:
                    yield exc

    def score_many(
        self, profiles: Iterable[LoadedProfile]
    ) -> tuple[list[ProfileResult], list[ErrorOut]]:
        """Scores, and the profiles that could not be scored (a group violated, say)."""
        loaded = list(profiles)
        results: list[ProfileResult] = []
        errors: list[ErrorOut] = []
        for lp, out in zip(loaded, self.score_iter(lp.profile for lp in loaded), strict=True):
            if isinstance(out, GroupViolation):
                errors.append(ErrorOut.of(out, lp.file))
            else:
                results.append(out)
        return results, errors

    def batch(
        self,
        profiles_dir: str | Path | None = None,
        sort: str = "deterrence",
        jobs: int = 1,
        progress: Callable[[int], None] | None = None,
        edition: int | None = None,
        every_snapshot: bool = False,
    ) -> BatchResult:
        """Every profile of a directory, scored and ranked; broken files are reported beside.

        With ``jobs`` > 1 the files are loaded and scored in that many processes, each
        with its own durable_rules host (the C core is not thread-safe); the result is
        the same, byte for byte, as with one. ``jobs`` is capped at the processors
        available (``available_processors``). The workers are fresh interpreters that
        never import the caller's ``__main__``, so a script needs no
        ``if __name__ == "__main__"`` guard, and they end with the process that started
        them. ``progress`` hears how many files each finished chunk held.
        """
        self._require_open()
        _check_sort(sort)
        paths, selection = select_snapshots(
            profile_files(profiles_dir or bundled_dir("profiles")), edition, every_snapshot)
        chunks, jobs = _chunks(paths, jobs)
        # the workers' pipes are watched with select(), which takes pipes on POSIX only
        if jobs > 1 and len(chunks) > 1 and os.name == "posix":
            done = _parallel(self.ruleset.directory, self.evaluator.name, chunks, jobs)
        else:
            done = (_load_and_score(self, chunk) for chunk in chunks)
        parts = []
        # to the end of ``done``, so that workers are shut down in order, not killed
        for part in done:
            parts.append(part)
            if progress:
                progress(len(chunks[len(parts) - 1]))
        results = [r for part in parts for r in part[0]]
        errors = [e for part in parts for e in part[1]]
        results.sort(key=SORT_KEYS[sort])
        errors.sort(key=lambda e: (e.source, e.message))
        return BatchResult(ruleset=self.info, results=tuple(results), errors=tuple(errors),
                           selection=selection)

    def batch_stream(
        self,
        record: Record,
        profiles_dir: str | Path | None = None,
        sort: str = "deterrence",
        jobs: int = 1,
        progress: Callable[[int], None] | None = None,
        edition: int | None = None,
        every_snapshot: bool = False,
    ) -> RankedBatch:
        """``batch``, with each result rendered by ``record`` (see ``engine.streaming``:
        ``record_for(fmt, dimensions)``) as soon as it is scored and set aside under its
        sort key: memory holds a key per profile, not every explanation, and ``--jobs``
        workers send back the rendered bytes. ``records()`` of the answer gives them in
        rank order; ``streaming.write`` writes a whole document from them.

        ``record`` must be a module-level function or a picklable object for ``jobs`` > 1.
        """
        self._require_open()
        _check_sort(sort)
        paths, selection = select_snapshots(
            profile_files(profiles_dir or bundled_dir("profiles")), edition, every_snapshot)
        chunks, jobs = _chunks(paths, jobs)
        spool = Spool()
        errors: list[ErrorOut] = []
        try:
            if jobs > 1 and len(chunks) > 1 and os.name == "posix":
                done = _parallel(self.ruleset.directory, self.evaluator.name, chunks, jobs,
                                 sort, record)
            else:
                _settle()
                done = (_load_and_record(self, chunk, sort, record) for chunk in chunks)
            # to the end of ``done``, so that workers are shut down in order, not killed
            for i, (records, failed) in enumerate(done):
                for key, data in records:
                    spool.add(key, data)
                errors += failed
                if progress:
                    progress(len(chunks[i]))
        except BaseException:
            spool.close()
            raise
        errors.sort(key=lambda e: (e.source, e.message))
        return RankedBatch(self.info, tuple(errors), selection, spool)


def _check_sort(sort: object) -> None:
    """Checked before any file is read, so that a typo costs nothing."""
    accepted = ", ".join(repr(k) for k in SORT_KEYS)
    if not isinstance(sort, str):
        raise TypeError(f"sort must be one of {accepted}, got {type(sort).__name__}")
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {accepted}, got {sort!r}")


def select_snapshots(
    paths: list[Path], edition: int | None = None, every_snapshot: bool = False
) -> tuple[list[Path], Selection]:
    """The files a ranking holds: by default the latest snapshot of each country, with
    ``edition`` only the profiles dated in that year, with ``every_snapshot`` all of them.

    Chosen by file name (the key), before any file is read; a file whose name is not a
    key is always kept, so that loading reports it rather than the selection hiding it.
    """
    if every_snapshot and edition is not None:
        raise ValueError("choose an edition or every snapshot, not both")
    keyed = [(p, p.stem.partition("@")) for p in paths]
    mode: Literal["latest", "edition", "all"]
    if every_snapshot:
        chosen = list(paths)
        mode = "all"
    elif edition is not None:
        chosen = [p for p, (c, at, y) in keyed if not (at and y.isdigit()) or int(y) == edition]
        mode = "edition"
    else:
        latest: dict[str, int] = {}
        for _, (country, at, year) in keyed:
            if at and year.isdigit():
                latest[country] = max(latest.get(country, 0), int(year))
        chosen = [p for p, (c, at, y) in keyed
                  if not (at and y.isdigit()) or int(y) == latest[c]]
        mode = "latest"
    return chosen, Selection(mode, edition, len(chosen), len(paths))


def _load_and_score(engine: Engine, paths: list[Path]) -> tuple[list[ProfileResult], list[ErrorOut]]:
    """One chunk of a batch: every file's result or its own error record, never one
    file's problem for the whole chunk."""
    loaded, load_errors = load_files(paths, engine.ruleset.catalog)
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


def _chunks(paths: list[Path], jobs: int) -> tuple[list[list[Path]], int]:
    """The files in chunks for ``jobs`` processes (capped at the processors), and the jobs."""
    jobs = max(1, min(jobs, available_processors()))
    size = max(1, min(64, -(-len(paths) // jobs)))
    return [paths[i:i + size] for i in range(0, len(paths), size)], jobs


def _load_and_record(
    engine: Engine, paths: list[Path], sort: str, record: Record
) -> tuple[list[tuple[tuple, bytes]], list[ErrorOut]]:
    """One chunk of a streaming batch: each result as its sort key and rendered bytes."""
    results, errors = _load_and_score(engine, paths)
    key = SORT_KEYS[sort]
    return [(key(r), record(r)) for r in results], errors


def _settle() -> None:
    """Called once the rule set is loaded, before a batch: the objects alive now (the
    modules, the rules, the compiled tables) live as long as the process, so the
    collector stops walking them on every full collection of the batch's garbage."""
    import gc

    gc.collect()
    gc.freeze()


_worker_engine: Engine | None = None
_worker_record: tuple[str, Record] | None = None


def _worker_init(rules_dir: str, evaluator: str, sort: str | None = None,
                 record: Record | None = None) -> None:
    global _worker_engine, _worker_record
    _worker_engine = Engine.load(rules_dir, evaluator=evaluator)
    _worker_record = (sort, record) if sort is not None and record is not None else None
    _settle()


def _worker(paths: list[Path]) -> tuple[list, list[ErrorOut]]:
    """A chunk's results, or with a record function (``batch_stream``) its rendered
    records: a few kilobytes to send back rather than explanation graphs to unpickle."""
    assert _worker_engine is not None
    if _worker_record is not None:
        return _load_and_record(_worker_engine, paths, *_worker_record)
    return _load_and_score(_worker_engine, paths)


def available_processors() -> int:
    """The processors this process may run on (its affinity mask where it has one):
    more workers than that only add start-up time and memory."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _parallel(
    rules_dir: str, evaluator: str, chunks: list[list[Path]], jobs: int,
    sort: str | None = None, record: Record | None = None,
) -> Iterator[tuple[list, list[ErrorOut]]]:
    # Not multiprocessing: see engine/workers.py (no re-import of __main__, no fork of
    # the durable_rules tables, workers that end with their parent).
    from .workers import Pool
    from .workers import WorkerLost

    with Pool(min(jobs, len(chunks)), _worker_init, (rules_dir, evaluator, sort, record),
              _worker) as pool:
        try:
            yield from pool.map(chunks)
        except WorkerLost as lost:
            files = [display_path(f) for f in lost.task or []]
            which = " and ".join(files) or "no file"
            if len(files) > 2:
                which = f"{files[0]}, {files[-1]} and the {len(files) - 2} files between"
            raise DurableEngineError(
                f"a scoring process {lost.how} while scoring {which}; the batch was "
                "stopped") from None


def validate(
    rules_dir: str | Path | None = None, profiles_dir: str | Path | None = None
) -> tuple[int, int, list[str]]:
    """Check every rule file and every profile; (rules, profiles, problems), all at once.

    The rules are compiled in durable_rules, as ``score`` runs them, so that a rule set
    ``score`` could not run is refused here too. Profiles are also scored, so that a
    profile that trips an exclusive or required group, or that durable_rules cannot
    evaluate, is reported here rather than at the first ``score``.
    """
    rules_dir = Path(rules_dir or bundled_dir("rules"))
    profiles_dir = Path(profiles_dir or bundled_dir("profiles"))
    problems: list[str] = []
    ruleset: RuleSet | None = None
    try:
        ruleset = load_ruleset(rules_dir)
    except LoadErrors as many:
        problems += [e.message for e in many.errors]
    except LoadError as one:
        problems.append(one.message)
    engine: Engine | None = None
    if ruleset is not None:
        try:
            engine = Engine(ruleset)
        except DurableEngineError as exc:
            problems.append(str(exc))
            # the profiles are still checked against the groups, by the reference evaluator
            engine = Engine(ruleset, evaluator="reference")
    n_rules = len(ruleset.rules) if ruleset else 0
    catalog = ruleset.catalog if ruleset else None
    try:
        loaded, errors = load_profiles(profiles_dir, catalog)
    except LoadError as one:
        if engine is not None:
            engine.close()
        return n_rules, 0, problems + [one.message]
    problems += [e.message for e in errors]
    if engine is not None:
        with engine:
            for lp in loaded:
                try:
                    _, eval_errors = engine.score_many([lp])
                except DurableEngineError as exc:
                    problems.append(f"{lp.file}: {exc}")
                    continue
                problems += [f"{e.source}: {e.message}" for e in eval_errors]
    return n_rules, len(loaded), problems
