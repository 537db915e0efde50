"""The Python API: load a rule base once, score profiles with it.

    from engine import Engine
    engine = Engine.load()                     # the bundled rules
    result = engine.score("profiles/india-2022.yaml")
    result.deterrence.score, result.alignment_risk.band

Nothing here prints; the CLI renders what these functions return.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal

from .errors import (
    DurableEngineError,
    GroupViolation,
    LoadError,
    LoadErrors,
    UnknownProfileError,
)
from .evaluator import EVALUATORS, Evaluator, ReferenceEvaluator
from .loader import LoadedProfile, is_key, load_files, load_profile, load_profiles, profile_files
from .profile import Profile
from .results import BatchResult, ErrorOut, ProfileResult, RulesetInfo, Selection
from .rules import RuleSet, load_ruleset
from .schema import flatten, suggest
from .scoring import Scorer
from .trace import Trace, Tracer

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
        # The reference closures cost little next to a durable_rules session; running
        # them on every profile turns any disagreement into an error, never a wrong score.
        self._check = (
            ReferenceEvaluator(ruleset) if cross_check and evaluator != "reference" else None
        )

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
        self.evaluator.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def info(self) -> RulesetInfo:
        return RulesetInfo(rules=len(self.ruleset.rules), digest=self.ruleset.digest)

    # --- one profile -------------------------------------------------------------------------

    def fired(self, profile: Profile, fact: dict | None = None) -> frozenset[str]:
        fact = flatten(profile) if fact is None else fact
        fired = self.evaluator.fired(fact)
        if self._check is not None:
            expected = self._check.fired(fact)
            if fired != expected:
                raise DurableEngineError(
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

    def score(self, profile: Profile | str | Path) -> ProfileResult:
        return self._scorer.score(self._traced(profile, full=False))

    def _traced(self, profile: Profile | str | Path, full: bool) -> Trace:
        profile = self._as_profile(profile)
        fact = flatten(profile)
        return self._tracer.trace(profile, fact, self.fired(profile, fact),
                                  self.evaluator.name, full)

    def _as_profile(self, profile: Profile | str | Path) -> Profile:
        if isinstance(profile, Profile):
            return profile
        return load_profile(profile, self.ruleset.catalog).profile

    # --- many profiles -----------------------------------------------------------------------

    def load_profiles(
        self, profiles_dir: str | Path | None = None
    ) -> tuple[list[LoadedProfile], list[LoadError]]:
        return load_profiles(profiles_dir or bundled_dir("profiles"), self.ruleset.catalog)

    def find_profile(
        self, key_or_file: str | Path, profiles_dir: str | Path | None = None
    ) -> LoadedProfile:
        """A profile by key (``india@2022``, the file ``india@2022.yaml``) or by file path."""
        text = str(key_or_file)
        if not is_key(text) or Path(text).exists():
            return load_profile(text, self.ruleset.catalog)
        directory = Path(profiles_dir or bundled_dir("profiles"))
        files = profile_files(directory)
        for path in files:
            if path.stem == text:
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
            firings = [self.fired(p, f) for p, f in zip(chunk, facts)]
            for profile, fact, fired in zip(chunk, facts, firings):
                t = self._tracer.trace(profile, fact, fired, self.evaluator.name, full=False)
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
        for lp, out in zip(loaded, self.score_iter(lp.profile for lp in loaded)):
            if isinstance(out, GroupViolation):
                errors.append(ErrorOut(source=lp.file, message=str(out), code=type(out).__name__))
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
        the same, byte for byte, as with one. ``progress`` hears how many files each
        finished chunk held.
        """
        paths, selection = select_snapshots(
            profile_files(profiles_dir or bundled_dir("profiles")), edition, every_snapshot)
        size = max(1, min(64, -(-len(paths) // max(1, jobs))))
        chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
        if jobs > 1 and len(chunks) > 1:
            done = _parallel(self.ruleset.directory, self.evaluator.name, chunks, jobs)
        else:
            done = (_load_and_score(self, chunk) for chunk in chunks)
        parts = []
        for chunk, part in zip(chunks, done):
            parts.append(part)
            if progress:
                progress(len(chunk))
        results = [r for part in parts for r in part[0]]
        errors = [e for part in parts for e in part[1]]
        results.sort(key=SORT_KEYS[sort])
        errors.sort(key=lambda e: (e.source, e.message))
        return BatchResult(ruleset=self.info, results=tuple(results), errors=tuple(errors),
                           selection=selection)


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
    loaded, load_errors = load_files(paths, engine.ruleset.catalog)
    results, eval_errors = engine.score_many(loaded)
    errors = [ErrorOut(source=e.file, message=e.reason, code=e.code) for e in load_errors]
    errors += eval_errors
    return results, errors


_worker_engine: Engine | None = None


def _worker_init(rules_dir: str, evaluator: str) -> None:
    global _worker_engine
    _worker_engine = Engine.load(rules_dir, evaluator=evaluator)


def _worker(paths: list[Path]) -> tuple[list[ProfileResult], list[ErrorOut]]:
    assert _worker_engine is not None
    return _load_and_score(_worker_engine, paths)


def _parallel(
    rules_dir: str, evaluator: str, chunks: list[list[Path]], jobs: int
) -> Iterator[tuple[list[ProfileResult], list[ErrorOut]]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: a forked child would inherit the parent's durable_rules tables
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(chunks)), mp_context=context,
                             initializer=_worker_init, initargs=(rules_dir, evaluator)) as pool:
        yield from pool.map(_worker, chunks)


def validate(
    rules_dir: str | Path | None = None, profiles_dir: str | Path | None = None
) -> tuple[int, int, list[str]]:
    """Check every rule file and every profile; (rules, profiles, problems), all at once.

    Profiles are also scored, so that a profile that trips an exclusive or
    required group is reported here rather than at the first ``score``.
    """
    rules_dir = Path(rules_dir or bundled_dir("rules"))
    profiles_dir = Path(profiles_dir or bundled_dir("profiles"))
    problems: list[str] = []
    engine: Engine | None = None
    try:
        engine = Engine(load_ruleset(rules_dir), evaluator="reference")
    except LoadErrors as many:
        problems += [e.message for e in many.errors]
    except LoadError as one:
        problems.append(one.message)
    catalog = engine.ruleset.catalog if engine else None
    try:
        loaded, errors = load_profiles(profiles_dir, catalog)
    except LoadError as one:
        return (len(engine.ruleset.rules) if engine else 0), 0, problems + [one.message]
    problems += [e.message for e in errors]
    if engine is not None:
        _, eval_errors = engine.score_many(loaded)
        problems += [f"{e.source}: {e.message}" for e in eval_errors]
    return (len(engine.ruleset.rules) if engine else 0), len(loaded), problems
