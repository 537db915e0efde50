"""benchmarks/batch_files.py writes profile files the loader takes as they are: valid,
named after their keys, every known fact with its provenance, the same for the same seed."""

from __future__ import annotations

from engine.loader import load_files

from .helpers import load_benchmark

batch_files = load_benchmark("batch_files")


def test_the_generated_files_load_cleanly_with_their_provenance(engine, tmp_path):
    batch_files.write_profiles(tmp_path / "a", 25)
    paths = sorted((tmp_path / "a").glob("*.yaml"))
    loaded, errors = load_files(paths, engine.ruleset.catalog)
    assert errors == [] and len(loaded) == len(paths) > 20
    for lp in loaded:
        facts = [f for section in ("commitment", "forces", "dependence")
                 for f in vars(getattr(lp.profile, section)).values() if f is not None]
        assert facts and all(f.source == batch_files.SOURCE and f.note for f in facts)


def test_the_same_seed_writes_the_same_files(tmp_path):
    batch_files.write_profiles(tmp_path / "a", 10)
    batch_files.write_profiles(tmp_path / "b", 10)
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").glob("*.yaml")}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").glob("*.yaml")}
    assert a == b and len(a) == 10


def test_rounds_give_medians_and_each_run_s_ratio_to_the_cold_run_of_its_round(tmp_path):
    figures = batch_files.measure(4, tmp_path / "p", [2], ("cold", "jobs"), rounds=2)
    cold, jobs = figures["runs"]["cold"], figures["runs"]["cold --jobs 2"]
    assert figures["files"] == 4 and figures["rounds"] == 2
    assert len(cold["seconds_each"]) == len(jobs["seconds_each"]) == 2
    want = [round(c / j, 2) for c, j in zip(cold["seconds_each"], jobs["seconds_each"],
                                             strict=True)]
    # each ratio from the same round's unrounded seconds: equal to two decimals, give or take one
    assert all(abs(got - w) <= 0.011 for got, w in zip(jobs["x_cold_each"], want, strict=True))
    assert "x_cold" not in cold and cold["peak_rss_mb"] > 10
    assert len(figures["output_sha256"]) == 64
