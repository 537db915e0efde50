"""The Python API: load a rule base once, score profiles with it.

    from engine import Engine
    engine = Engine.load()                     # the bundled rules
    result = engine.score("india@2022")        # by key, or by a file's path
    result.deterrence.score, result.alignment_risk.band

Nothing here prints; the CLI renders what these functions return.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Literal
from typing import Unpack

from . import batch as batching
from . import fields as _fields
from .batch import CHUNK
from .batch import BatchOptions
from .errors import EngineClosedError
from .errors import EvaluatorsDisagree
from .errors import GroupViolation
from .errors import LoadError
from .errors import UnknownProfileError
from .evaluator import EVALUATORS
from .evaluator import Evaluator
from .evaluator import ReferenceEvaluator
from .fields import flatten
from .fields import suggest
from .filelist import FileList
from .loader import PROFILE_SUFFIX
from .loader import LoadedProfile
from .loader import check_profile_suffix
from .loader import is_key
from .loader import load_profiles
from .loader import load_through_cache
from .loader import profile_files
from .profile import Profile
from .results import BatchResult
from .results import ErrorOut
from .results import ProfileResult
from .results import RulesetInfo
from .rule_cache import load_cached
from .rules import RuleSet
from .scoring import Scorer
from .streaming import RankedBatch
from .streaming import Record
from .trace import Trace
from .trace import Tracer

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(kind: Literal["rules", "profiles"]) -> Path:
    """The bundled rules or profiles: inside an installed wheel, else the source tree."""
    inside = _PACKAGE / "bundled" / kind
    return inside if inside.is_dir() else _PACKAGE.parent / kind


def _disagreement(profile: Profile, fired: frozenset[str],
                  expected: frozenset[str]) -> EvaluatorsDisagree:
    return EvaluatorsDisagree(
        f"{profile.key}: durable_rules fired {sorted(fired - expected)} "
        f"and missed {sorted(expected - fired)} compared with the reference evaluator")


def _checked_traces(chunk: list[Profile], check: ReferenceEvaluator, tracer: Tracer
                    ) -> tuple[list[dict], list[frozenset[str]], list[Trace]]:
    """Each profile's fact, the reference's fired set, and the trace of that set: the
    traces stand for durable_rules' evaluation once it has fired the same rules."""
    facts: list[dict] = []
    expected: list[frozenset[str]] = []
    traces: list[Trace] = []
    flat, fired_by, trace, name = _fields._flatten, check.fired, tracer.trace, check.name
    add_fact, add_fired, add_trace = facts.append, expected.append, traces.append
    for profile in chunk:
        # the flatten step the public flatten() wraps: its call would be a frame per profile
        add_fact(fact := flat(profile))
        add_fired(fired := fired_by(fact))
        add_trace(trace(profile, fact, fired, name, False, True))
    return facts, expected, traces


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
        cache: bool = True,
    ) -> Engine:
        """Load and compile a rule base (default: the bundled rules). With ``cache``, a rule
        set loaded before from the very same files is read back from the per-user cache
        (:mod:`engine.rule_cache`; ``LATTICEWORK_NO_CACHE=1`` turns it off everywhere)."""
        directory = Path(rules_dir or bundled_dir("rules"))
        if cache:
            ruleset = load_cached(directory)
        else:
            from .rule_loader import load_ruleset

            ruleset = load_ruleset(directory)
        return cls(ruleset, evaluator, cross_check)

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
                raise _disagreement(profile, fired, expected)
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
        return load_through_cache(profile, self.ruleset.catalog).profile

    # --- many profiles -----------------------------------------------------------------------

    def load_profiles(
        self, profiles_dir: str | Path | None = None
    ) -> tuple[list[LoadedProfile], list[LoadError]]:
        return load_profiles(profiles_dir or bundled_dir("profiles"), self.ruleset.catalog)

    def profile_files(self, profiles_dir: str | Path | None = None) -> FileList:
        """The profile files of a directory (default: the bundled profiles), in name order:
        a ``Sequence`` of ``Path`` kept compact (``engine.filelist``)."""
        return profile_files(Path(profiles_dir or bundled_dir("profiles")))

    def find_profile(
        self, key_or_file: str | Path, profiles_dir: str | Path | None = None
    ) -> LoadedProfile:
        """A profile by key (``india@2022``, the file ``india@2022.yaml``) or by file path."""
        text = str(key_or_file)
        if not is_key(text) or Path(text).exists():
            return load_through_cache(text, self.ruleset.catalog)
        directory = Path(profiles_dir or bundled_dir("profiles"))
        files = profile_files(directory)
        # KEY.yaml first; a KEY.yml or KEY.YAML alone is reported, as in a batch
        for path in sorted(files, key=lambda p: p.suffix != PROFILE_SUFFIX):
            if path.stem == text:
                check_profile_suffix(path)
                return load_through_cache(path, self.ruleset.catalog)
        raise UnknownProfileError(text, suggest(text, [p.stem for p in files]))

    def score_iter(
        self, profiles: Iterable[Profile]
    ) -> Iterator[ProfileResult | GroupViolation]:
        """Score many profiles, in order: each one's result, or the group violation that
        stopped it. A broken engine raises instead, as soon as a step finds it broken: the
        results of that chunk's profiles are not yielded, even those before the one that
        broke it (``Engine.score_many`` and batches score such a chunk again a profile
        at a time, so that only that profile fails).

        A chunk of profiles goes through durable_rules in one loop, so that the C core
        finds its code and tables still in the processor's caches (alternating with the
        Python steps per profile cost about a tenth more). With the cross-check, each
        profile is flattened, checked by the reference and traced from the reference's
        fired set in one loop before that: the trace reads the facts' sources while
        flattening has left them in the caches. Behind durable_rules' pass over the
        chunk, they had been evicted, and tracing cost half as much again (18 against
        12 microseconds a profile; the whole path 7 % more). Nothing is scored or
        yielded until durable_rules has fired exactly the reference's rules for every
        profile of the chunk, so each trace is the one durable_rules' own fired set
        gives.
        """
        evaluator, check, tracer, scorer = self.evaluator, self._check, self._tracer, self._scorer
        it = iter(profiles)
        while chunk := list(islice(it, CHUNK)):
            self._require_open()
            if check is None:
                facts = list(map(_fields._flatten, chunk))
                name = evaluator.name
                traces = [tracer.trace(profile, fact, fired, name, full=False)
                          for profile, fact, fired
                          in zip(chunk, facts, map(evaluator.fired, facts), strict=True)]
            else:
                facts, expected, traces = _checked_traces(chunk, check, tracer)
                # durable_rules over the whole chunk first: an error of its own comes
                # before any disagreement, as when it ran ahead of the check
                firings = list(map(evaluator.fired, facts))
                for profile, fired, wanted in zip(chunk, firings, expected, strict=True):
                    if fired != wanted:
                        raise _disagreement(profile, fired, wanted)
            for t in traces:
                try:
                    yield scorer.score(t)
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

    def batch(self, profiles_dir: str | Path | None = None,
              **options: Unpack[BatchOptions]) -> BatchResult:
        """Every profile of a directory, scored and ranked; broken files are reported beside.

        The options (``BatchOptions``): ``sort`` (deterrence, alignment-risk, key, name),
        ``jobs``, ``progress``, ``edition`` (a year) or ``every_snapshot`` (default: the
        latest snapshot of each country).

        With ``jobs`` > 1 the files are loaded and scored in that many processes, each
        with its own durable_rules host (the C core is not thread-safe); the result is
        the same, byte for byte, as with one. ``jobs`` is capped at the processors
        available (``available_processors``). The workers are fresh interpreters that
        never import the caller's ``__main__``, so a script needs no
        ``if __name__ == "__main__"`` guard, and they end with the process that started
        them. ``progress`` hears how many files each finished chunk held.
        """
        self._require_open()
        return batching.batch(self, profiles_dir, options)

    def batch_stream(self, record: Record, profiles_dir: str | Path | None = None,
                     **options: Unpack[BatchOptions]) -> RankedBatch:
        """``batch``, with each result rendered by ``record`` (see ``engine.streaming``:
        ``record_for(fmt, dimensions)``) as soon as it is scored and set aside under its
        sort key: memory holds a key per profile, not every explanation, and ``--jobs``
        workers send back the rendered bytes. ``records()`` of the answer gives them in
        rank order; ``streaming.write`` writes a whole document from them.

        ``record`` must be a module-level function or a picklable object for ``jobs`` > 1.
        """
        self._require_open()
        return batching.batch_stream(self, record, profiles_dir, options)
