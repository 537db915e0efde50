"""How much the scores depend on the model's judgments: the weights and the provisional facts.

Two kinds of assumption are perturbed, both seeded:

* weights: each rule's points are multiplied by a factor drawn uniformly from
  [1 - spread, 1 + spread], one factor per rule and draw;
* provisional facts (judgment codings, ``confidence: provisional``): in each draw
  each such fact is, with probability ``fact_rate``, replaced by one of its
  alternatives, chosen uniformly: unknown, or a neighbouring value (the adjacent
  values of an ordered enumeration, the other value of a yes/no).

Scores are then matrix arithmetic: scores = clamp(base + F @ W), with F the
profiles-by-rules firing matrix of the draw and W its perturbed points; a profile
whose facts changed in a draw is re-fired with the reference evaluator (cached by
the facts chosen). The report also tries every alternative of every provisional
fact one at a time and lists the assumptions that move a partner's rank most.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from ..api import Engine
from ..fields import field_specs
from ..fields import flatten
from ..profile import Confidence
from ..profile import Profile
from ..reference import ReferenceEvaluator

TOP_ASSUMPTIONS = 20


def alternatives(profile: Profile, read: set[str]) -> list[tuple[str, Any, list[Any]]]:
    """Each provisional fact the rules read: (field, value, its alternatives)."""
    specs = field_specs()
    out = []
    for path, spec in specs.items():
        if "." not in path or path not in read:
            continue
        section, name = path.split(".")
        fact = getattr(getattr(profile, section), name)
        if fact is None or fact.confidence != Confidence.PROVISIONAL or spec.required:
            continue
        value = fact.value.value if spec.kind == "enum" else fact.value
        alts: list[Any] = [None]
        if spec.kind == "bool":
            alts.append(not value)
        elif spec.kind == "enum":
            i = spec.values.index(value)
            alts += [spec.values[j] for j in (i - 1, i + 1) if 0 <= j < len(spec.values)]
        out.append((path, value, alts))
    return out


class Interval(BaseModel):
    score: int  # with the rule base's own points
    low: float  # 5th percentile over the draws
    median: float
    high: float  # 95th percentile
    bands: dict[str, float]  # probability of each band


class PartnerSensitivity(BaseModel):
    profile: str
    name: str
    scores: dict[str, Interval]
    rank: int  # by deterrence with the rule base's own points, 1 = highest
    rank_kept: float  # share of draws in which the partner keeps that rank
    rank_range: tuple[int, int]  # 5th to 95th percentile of its rank


class Assumption(BaseModel):
    """One provisional fact replaced by one alternative, everything else as it is."""

    profile: str
    field: str
    value: Any
    alternative: Any  # None: the fact made unknown
    deterrence: int  # score change
    alignment_risk: int
    deterrence_rank: int  # rank change (positive: a better, i.e. higher, place)
    alignment_risk_rank: int


class SensitivityResult(BaseModel):
    draws: int
    spread: float
    fact_rate: float
    seed: int
    ranked_by: str
    partners: list[PartnerSensitivity]
    provisional_facts: int  # provisional facts the rules read, over all partners
    assumptions: list[Assumption]  # the alternatives that move ranks most, largest first


def analyse(
    engine: Engine,
    profiles: Iterable[Profile],
    draws: int = 1000,
    spread: float = 0.25,
    seed: int = 0,
    ranked_by: str = "deterrence",
    fact_rate: float = 0.2,
    chunk: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> SensitivityResult:
    import numpy as np  # imported where used: the CLI starts faster without it

    ruleset = engine.ruleset
    profiles = list(profiles)
    rules = list(ruleset.rules)
    index = {r.id: i for i, r in enumerate(rules)}
    fired = np.zeros((len(profiles), len(rules)), dtype=np.float64)
    for p, profile in enumerate(profiles):
        for rid in engine.fired(profile):
            fired[p, index[rid]] = 1.0
    targets = list(ruleset.targets.values())
    read = {spec.path for spec in ruleset.fields_read}
    reference = ReferenceEvaluator(ruleset)
    prepared = [reference.row(flatten(p)) for p in profiles]  # each changed per draw
    options = [alternatives(p, read) for p in profiles]
    cache: dict[tuple[int, tuple[Any, ...]], np.ndarray] = {}

    def firing_row(p: int, chosen: tuple[Any, ...]) -> np.ndarray:
        """Profile p's firing vector with its provisional facts set as ``chosen``."""
        key = (p, chosen)
        row = cache.get(key)
        if row is None:
            drawn = reference.replace(prepared[p], zip((path for path, _, _ in options[p]),
                                                      chosen, strict=True))
            row = np.zeros(len(rules), dtype=np.float64)
            for rid in reference.fired_row(drawn):
                row[index[rid]] = 1.0
            cache[key] = row
        return row

    rng = np.random.default_rng(seed)
    samples = {t.id: np.empty((len(profiles), draws), dtype=np.int16) for t in targets}
    points = {t.id: np.array([r.points_for(t.id) for r in rules], dtype=np.float64)
              for t in targets}
    # the rule base's own points: the same arithmetic as scoring, so no profile is rescored
    baseline = {t.id: np.clip(t.base + fired @ points[t.id], 0, 100).astype(int).tolist()
                for t in targets}
    done = 0
    while done < draws:
        n = min(chunk, draws - done)
        # one factor per rule and draw, shared by all of the rule's targets: a weight
        # judgment about an argument moves every score the argument feeds
        factors = rng.uniform(1 - spread, 1 + spread, size=(len(rules), n))
        weights = {t.id: points[t.id][:, None] * factors for t in targets}  # rules x draws
        for t in targets:
            raw = t.base + fired @ weights[t.id]
            samples[t.id][:, done:done + n] = np.clip(np.rint(raw), 0, 100)
        if fact_rate > 0:
            # a partner with provisional facts is scored again in each draw, with the facts
            # the draw chose for it
            for p, opts in enumerate(options):
                if not opts:
                    continue
                # per draw and fact: 0 keeps the fact, j > 0 takes its j-th alternative
                flips = rng.random((n, len(opts))) < fact_rate
                picks = np.stack([rng.integers(len(o[2]), size=n) for o in opts], axis=1) + 1
                codes = np.where(flips, picks, 0)
                distinct, which = np.unique(codes, axis=0, return_inverse=True)
                rows = np.stack([
                    firing_row(p, tuple(o[1] if c == 0 else o[2][c - 1]
                                        for o, c in zip(opts, code, strict=True)))
                    for code in distinct])
                draw_fired = rows[which.reshape(-1)]  # draws x rules
                for t in targets:
                    raw = t.base + (draw_fired * weights[t.id].T).sum(axis=1)
                    samples[t.id][p, done:done + n] = np.clip(np.rint(raw), 0, 100)
        done += n
        if progress:
            progress(n)

    ranks = ranks_per_draw(samples[ranked_by])
    base_ranks = ranks_per_draw(np.array(baseline[ranked_by])[:, None])[:, 0]

    partners = []
    for p, profile in enumerate(profiles):
        scores = {}
        for t in targets:
            s = samples[t.id][p].astype(np.float64)
            band_idx = np.minimum((s - t.LOW) // t.band_width, len(t.bands) - 1).astype(int)
            bands = {b: round(float((band_idx == i).mean()), 4) for i, b in enumerate(t.bands)}
            lo, med, hi = np.percentile(s, [5, 50, 95])
            scores[t.id] = Interval(score=baseline[t.id][p], low=round(float(lo), 2),
                                    median=round(float(med), 2), high=round(float(hi), 2),
                                    bands=bands)
        r_lo, r_hi = np.percentile(ranks[p], [5, 95])
        partners.append(PartnerSensitivity(
            profile=profile.key, name=profile.name, scores=scores, rank=int(base_ranks[p]),
            rank_kept=round(float((ranks[p] == base_ranks[p]).mean()), 4),
            rank_range=(int(r_lo), int(r_hi))))
    partners.sort(key=lambda s: (s.rank, s.profile))
    assumptions = _one_at_a_time(profiles, options, fired, points, targets, baseline, firing_row)
    return SensitivityResult(draws=draws, spread=spread, fact_rate=fact_rate, seed=seed,
                             ranked_by=ranked_by, partners=partners,
                             provisional_facts=sum(len(o) for o in options),
                             assumptions=assumptions)


def ranks_per_draw(scores: Any, cells: int = 1 << 20) -> Any:
    """Each profile's rank in each draw (a column of ``scores``, whole numbers): 1 + the
    number of strictly higher scores, so ties share the better rank, as in the ranked table.

    Ranked by sorting, a block of draws at a time: comparing every pair of profiles would
    take profiles x profiles x draws of memory (23 GiB for 5,000 profiles), this takes
    profiles x draws of small integers and a block of at most ``cells`` working values.
    """
    import numpy as np

    n, draws = scores.shape
    out = np.empty((n, draws), dtype=np.min_scalar_type(n + 1))
    if n == 0 or draws == 0:
        return out
    low = int(scores.min())
    width = int(scores.max()) - low + 1
    block = max(1, cells // n)
    for start in range(0, draws, block):
        stop = min(draws, start + block)
        # each draw shifted into its own range of values: one sort and one search rank
        # every draw of the block, and a search never crosses into a neighbouring draw
        keys = scores[:, start:stop].astype(np.int64) - low
        keys += np.arange(stop - start, dtype=np.int64) * width
        ordered = np.sort(keys, axis=0).ravel(order="F")
        at_most = np.searchsorted(ordered, keys, side="right")  # through this draw's end
        ends = np.arange(1, stop - start + 1, dtype=np.int64) * n
        out[:, start:stop] = ends - at_most + 1
    return out


def _one_at_a_time(profiles, options, fired, points, targets, baseline, firing_row):
    """Each alternative of each provisional fact alone: how far it moves the partner."""
    import numpy as np

    by_id = {t.id: t for t in targets}
    base = {name: np.array(baseline[name]) for name in ("deterrence", "alignment_risk")}
    out = []
    for p, opts in enumerate(options):
        original = tuple(o[1] for o in opts)
        for i, (path, value, alts) in enumerate(opts):
            for alt in alts:
                chosen = original[:i] + (alt,) + original[i + 1:]
                row = firing_row(p, chosen)
                moved = {}
                for name in ("deterrence", "alignment_risk"):
                    t = by_id[name]
                    new = int(np.clip(t.base + row @ points[name], 0, 100))
                    scores = base[name].copy()
                    scores[p] = new
                    ranks = ranks_per_draw(np.stack([base[name], scores], axis=1))[p]
                    moved[name] = (new - int(base[name][p]), int(ranks[0]) - int(ranks[1]))
                out.append(Assumption(
                    profile=profiles[p].key, field=path, value=value, alternative=alt,
                    deterrence=moved["deterrence"][0], alignment_risk=moved["alignment_risk"][0],
                    deterrence_rank=moved["deterrence"][1],
                    alignment_risk_rank=moved["alignment_risk"][1]))
    out.sort(key=lambda a: (-max(abs(a.deterrence_rank), abs(a.alignment_risk_rank)),
                            -max(abs(a.deterrence), abs(a.alignment_risk)), a.profile, a.field,
                            str(a.alternative)))
    return out[:TOP_ASSUMPTIONS]


def result_text(r: SensitivityResult) -> str:
    from tabulate import tabulate

    from ..render import safe_cells

    rows = []
    for p in r.partners:
        row = [p.rank, p.profile]
        for name in ("deterrence", "alignment_risk"):
            i = p.scores[name]
            likely = max(i.bands.items(), key=lambda kv: kv[1])
            row += [i.score, f"{i.low:g}-{i.high:g}", f"{likely[0]} {likely[1]:.0%}"]
        row += [f"{p.rank_kept:.0%}", f"{p.rank_range[0]}-{p.rank_range[1]}"]
        rows.append(row)
    headers = ["rank", "profile", "deterrence", "90% interval", "likeliest band",
               "alignment risk", "90% interval", "likeliest band", "rank kept", "rank 90%"]
    head = (f"{r.draws} draws, each rule's points scaled by a factor in "
            f"[{1 - r.spread:g}, {1 + r.spread:g}] and each of {r.provisional_facts} provisional "
            f"facts replaced (unknown or a neighbouring value) with probability "
            f"{r.fact_rate:g}, seed {r.seed}; ranks by {r.ranked_by}\n\n")
    text = head + tabulate(safe_cells(rows), headers, tablefmt="simple",
                           disable_numparse=True) + "\n"
    if r.assumptions:
        from ..fields import show_value

        arows = [[a.profile, a.field, f"{show_value(a.value)} -> {show_value(a.alternative)}",
                  f"{a.deterrence:+d} ({a.deterrence_rank:+d})",
                  f"{a.alignment_risk:+d} ({a.alignment_risk_rank:+d})"] for a in r.assumptions]
        text += ("\nProvisional facts that move ranks most, one at a time "
                 "(score change, rank change; + is a higher place):\n\n")
        text += tabulate(safe_cells(arows),
                         ["profile", "fact", "assumption", "deterrence", "alignment risk"],
                         tablefmt="simple", disable_numparse=True) + "\n"
    return text
