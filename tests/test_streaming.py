"""Streaming batches (issue 14): results rendered as they are scored and ranked on small
keys give the same bytes as the whole-batch renderers, with one process or two."""

from __future__ import annotations

import io
import json
import pickle

import pytest

from engine import batch as batching
from engine import render
from engine import streaming
from engine import tables

from .helpers import run_cli


@pytest.fixture(scope="module")
def whole(engine):
    return engine.batch(every_snapshot=True)


def streamed(engine, fmt: str, jobs: int = 1, **kw) -> bytes:
    record = streaming.record_for(fmt, engine.info, list(engine.ruleset.dimensions))
    with engine.batch_stream(record, jobs=jobs, **kw) as ranked:
        if fmt in ("table", "markdown"):
            return tables.batch_table(streaming.summaries(ranked), engine.ruleset, fmt).encode()
        out = io.BytesIO()
        streaming.write(out, ranked, fmt, record)
        return out.getvalue()


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "markdown"])
def test_a_streamed_batch_has_the_bytes_of_the_whole_batch(engine, whole, fmt):
    expected = render.batch_json(whole) if fmt == "json" else \
        tables.batch_table(whole, engine.ruleset, fmt)
    assert streamed(engine, fmt, every_snapshot=True) == expected.encode()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_two_processes_give_the_bytes_of_one(engine, fmt, monkeypatch):
    monkeypatch.setattr(batching, "available_processors", lambda: 2)
    assert streamed(engine, fmt, jobs=2, every_snapshot=True) == \
        streamed(engine, fmt, jobs=1, every_snapshot=True)


def test_json_lines_hold_one_result_a_line_in_rank_order(engine, whole):
    lines = streamed(engine, "jsonl", every_snapshot=True).decode().splitlines()
    assert [json.loads(line) for line in lines] == \
        [r.model_dump(mode="json") for r in whole.results]


def test_a_batch_with_no_profile_is_the_same_document(engine, whole, tmp_path):
    empty = engine.batch(tmp_path)
    assert streamed(engine, "json", profiles_dir=tmp_path) == render.batch_json(empty).encode()


def test_the_errors_and_the_selection_close_the_json(engine, profiles_copy):
    (profiles_copy / "broken@2022.yaml").write_text("country: [\n")
    whole = engine.batch(profiles_copy, sort="name")
    assert whole.errors
    got = streamed(engine, "json", profiles_dir=profiles_copy, sort="name")
    assert got == render.batch_json(whole).encode()


def test_workers_send_records_not_explanations(engine, monkeypatch):
    sent = []
    real = batching._load_and_record

    def spy(*args):
        answer = real(*args)
        sent.append(len(pickle.dumps(answer)))
        return answer

    monkeypatch.setattr(batching, "_load_and_record", spy)
    record = streaming.record_for("csv", engine.info, list(engine.ruleset.dimensions))
    with engine.batch_stream(record, every_snapshot=True) as ranked:
        n = len(ranked)
    # a CSV line and a sort key: well under a kilobyte a profile
    assert n > 100 and sum(sent) < 300 * n


def test_the_spool_gives_records_in_key_order_ties_in_arrival_order():
    spool = streaming.Spool()
    for key, data in [((2, "b"), b"x"), ((1, "z"), b"yy"), ((2, "b"), b"zzz"), ((0, ""), b"")]:
        spool.add(key, data)
    assert list(spool.ranked()) == [b"", b"yy", b"x", b"zzz"]
    spool.close()


def test_batch_streams_json_lines_to_standard_output_and_to_a_file_alike(tmp_path):


    printed = run_cli("batch", "--format", "jsonl")
    assert printed.exit_code == 0, printed.output
    out = tmp_path / "ranking.jsonl"
    written = run_cli("batch", "--format", "jsonl", "-o", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_bytes() == printed.stdout_bytes
    rows = [json.loads(line) for line in printed.stdout.splitlines()]
    scores = [r["deterrence"]["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and len(rows) == len({r["country"] for r in rows})


def test_a_batch_collects_cycles_a_chunk_at_a_time_and_puts_the_collector_back(engine):
    """The cycle collector looks at young objects about once a chunk during a batch, not
    every 700 allocations, and is left as the caller had it, after a failure too."""
    import gc

    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    engine.batch(every_snapshot=True, progress=lambda n: during.append(gc.get_threshold()))
    assert during and {t[0] for t in during} == {max(before[0], batching.YOUNG_OBJECTS)}
    assert gc.get_threshold() == before
    with batching._fewer_collections():
        with batching._fewer_collections():  # a batch in another thread, say
            pass
        assert gc.get_threshold()[0] == max(before[0], batching.YOUNG_OBJECTS)
    assert gc.get_threshold() == before
    with pytest.raises(ValueError, match="sort must be one of"):
        engine.batch(sort="size")
    with pytest.raises(KeyError), batching._fewer_collections():
        raise KeyError("a failure inside a batch")
    assert gc.get_threshold() == before
    try:  # a caller who turned automatic collection off keeps it off
        gc.set_threshold(0, *before[1:])
        with batching._fewer_collections():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_a_summary_record_is_the_result_without_its_contributions(whole):
    # made field by field: a field added to the results must not be lost on the way
    import dataclasses

    def bare(s):
        return dataclasses.replace(s, contributions=())

    first = whole.results[0]
    odd = dataclasses.replace(first, deterrence=dataclasses.replace(
        first.deterrence, score=100, adjustment=-7, raw=107, base=41, band="odd"))
    for r in (*whole.results, odd):
        want = dataclasses.replace(
            r, deterrence=bare(r.deterrence), alignment_risk=bare(r.alignment_risk),
            dimensions={k: bare(v) for k, v in r.dimensions.items()})
        assert pickle.loads(streaming.summary_record(r)) == want


def test_a_csv_record_is_its_row_of_the_whole_ranking(engine, whole):
    from engine.export import batch_csv

    record = streaming.record_for("csv", engine.info, list(engine.ruleset.dimensions))
    rows = batch_csv(whole, engine.ruleset).splitlines(keepends=True)[1:]
    assert [record(r) for r in whole.results] == \
        [row.split(",", 1)[1].encode() for row in rows]
