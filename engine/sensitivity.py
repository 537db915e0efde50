"""How much the scores depend on the weights: seeded random perturbation of rule points.

Which rules fire does not depend on the points, so each profile is evaluated
once; every draw is then matrix arithmetic: scores = clamp(base + F @ W), with
F the profiles-by-rules firing matrix and W the perturbed points. Each point is
multiplied by a factor drawn uniformly from [1 - spread, 1 + spread].
"""

from __future__ import annotations

from typing import Callable, Iterable

from pydantic import BaseModel

from .api import Engine
from .profile import Profile


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


class SensitivityResult(BaseModel):
    draws: int
    spread: float
    seed: int
    ranked_by: str
    partners: list[PartnerSensitivity]


def analyse(
    engine: Engine,
    profiles: Iterable[Profile],
    draws: int = 1000,
    spread: float = 0.25,
    seed: int = 0,
    ranked_by: str = "deterrence",
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
        for t in targets:
            raw = t.base + fired @ (points[t.id][:, None] * factors)
            samples[t.id][:, done:done + n] = np.clip(np.rint(raw), 0, 100)
        done += n
        if progress:
            progress(n)

    ranked = samples[ranked_by].astype(np.float64)
    # rank 1 = highest score; ties share the better rank, as in the ranked table
    ranks = (ranked[None, :, :] > ranked[:, None, :]).sum(axis=1) + 1
    base_scores = np.array(baseline[ranked_by])
    base_ranks = (base_scores[None, :] > base_scores[:, None]).sum(axis=1) + 1

    partners = []
    for p, profile in enumerate(profiles):
        scores = {}
        for t in targets:
            s = samples[t.id][p].astype(np.float64)
            band_idx = np.minimum(s // 20, 4).astype(int)
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
    return SensitivityResult(draws=draws, spread=spread, seed=seed, ranked_by=ranked_by,
                             partners=partners)


def result_text(r: SensitivityResult) -> str:
    from tabulate import tabulate

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
            f"[{1 - r.spread:g}, {1 + r.spread:g}], seed {r.seed}; ranks by {r.ranked_by}\n\n")
    return head + tabulate(rows, headers, tablefmt="simple", disable_numparse=True) + "\n"
