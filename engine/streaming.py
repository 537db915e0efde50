"""Ranked batches that never hold every explanation at once.

A batch is ranked on small keys (the scores and the profile's key), but its JSON
holds every rule that fired for every profile: some 30 kB a profile, 300 MB at
10,000 profiles, and ``json.dumps`` of the whole once took several times that.
So each result is rendered to bytes as soon as it is scored, in the format the
batch is written in, and set aside in a spool (in memory while small, then a
temporary file) under its sort key; writing reads the records back in rank
order. The keys too are sorted a run at a time and written out, then merged
(``Spool``), so memory holds the same at any size, and ``--jobs`` workers send
back rendered bytes instead of explanation graphs to unpickle.

The outputs are byte for byte those of :func:`engine.render.batch_json` and
:func:`engine.tables.batch_table` on the same results: each result is serialised
by pydantic's Rust serialiser and indented to its place in the document.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from functools import cached_property
from typing import IO
from typing import Any

from .results import ErrorOut
from .results import ProfileResult
from .results import RulesetInfo
from .results import ScoreResult
from .results import Selection
from .results import _adapter

# One result, rendered: what a record function returns and the spool keeps.
Record = Callable[[ProfileResult], bytes]

# the records in memory up to this size, then in a temporary file
SPOOL_IN_MEMORY = 1 << 20
# keys sorted in memory at a time before they are written out as a sorted run, and keys
# read back at a time from each run as the runs are merged
RUN = 4096
BLOCK = 256


def _safe_json(text: str) -> str:
    from .render import safe_json

    return safe_json(text)


# What safe_json escapes, as the UTF-8 bytes that start it: DEL, a C1 control (U+0080 to
# U+009F), a separator or bidirectional embedding (U+2028 to U+202E), an isolate
# (U+2066 to U+2069). Lead bytes never occur inside another character's encoding.
_ESCAPED_AFTER = ((b"\xc2", 1, 0x80, 0x9f), (b"\xe2\x80", 2, 0xa8, 0xae),
                  (b"\xe2\x81", 2, 0xa6, 0xa9))


def _safe_json_bytes(data: bytes) -> bytes:
    """``safe_json`` on UTF-8 JSON. Most results hold nothing it escapes; their bytes are
    found so by a few byte searches and kept as they are, without decoding the text and
    scanning it with the regular expression (a third of rendering a result)."""
    unsafe = b"\x7f" in data
    for lead, width, low, high in _ESCAPED_AFTER:
        at = data.find(lead)
        while not unsafe and at != -1:
            unsafe = low <= data[at + width] <= high
            at = data.find(lead, at + width)
    return _safe_json(data.decode()).encode() if unsafe else data


def json_record(r: ProfileResult) -> bytes:
    """One result as it stands in the ``results`` list of the batch JSON (indented two
    levels, no separator)."""
    data = _adapter(ProfileResult).dump_json(r, indent=2)
    return b"    " + _safe_json_bytes(data).replace(b"\n", b"\n    ")


def jsonl_record(r: ProfileResult) -> bytes:
    """One result on one line of JSON Lines: the same data as ``score --format json``."""
    return _safe_json_bytes(_adapter(ProfileResult).dump_json(r)) + b"\n"


@dataclass(frozen=True)
class CsvRecord:
    """One result as its line of the CSV ranking, without the rank (a number, given as the
    lines are written). A class rather than a closure, so that ``--jobs`` workers can be
    sent it; the cells are ``export.ranking``'s, so that both CSVs stay one."""

    ruleset: RulesetInfo
    dimensions: tuple[str, ...]

    def __call__(self, r: ProfileResult) -> bytes:
        plain, ranking_row, csv_cell = _csv_cells()
        row = ranking_row(0, r, self._columns, self.ruleset.digest)
        buf = io.StringIO()
        # a number is its own cell: only text, dates and enumerations are made plain and
        # safe. With the helpers imported and the columns worked out once, a record went
        # from 22.9 to 13.0 microseconds
        csv.writer(buf, lineterminator="\n").writerow(
            [c if type(c) is int else csv_cell(plain(c)) for c in row[1:]])
        return buf.getvalue().encode()

    @cached_property
    def _columns(self) -> list[tuple[str, str]]:
        from .export import ranking_columns

        return ranking_columns(self.dimensions)

    def header(self) -> bytes:
        from .export import ranking_headers

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(ranking_headers(self._columns))
        return buf.getvalue().encode()


@cache
def _csv_cells() -> tuple[Callable[[Any], Any], Callable[..., list[Any]], Callable[[Any], Any]]:
    """What a CSV record is made with, imported at the first record rather than at every
    one: export and render are not needed to score one profile."""
    from .export import plain
    from .export import ranking_row
    from .render import csv_cell

    return plain, ranking_row, csv_cell


def summary_record(r: ProfileResult) -> bytes:
    """One result without its explanations (the scores and bands only), pickled: what a
    table needs of it, a tenth of its size."""
    import pickle

    short = ProfileResult(
        profile=r.profile, country=r.country, name=r.name, as_of=r.as_of,
        deterrence=_bare(r.deterrence), alignment_risk=_bare(r.alignment_risk),
        dimensions={k: _bare(v) for k, v in r.dimensions.items()})
    return pickle.dumps(short, pickle.HIGHEST_PROTOCOL)


def _bare(s: ScoreResult) -> ScoreResult:
    # built field by field: dataclasses.replace looks the fields up again for each of a
    # profile's nine scores (a summary record went from 37.7 to 26.7 microseconds)
    return ScoreResult(score=s.score, band=s.band, base=s.base, adjustment=s.adjustment,
                       contributions=(), raw=s.raw)


def record_for(fmt: str, ruleset: RulesetInfo, dimensions: Any) -> Record:
    """The record function of a batch format: json, jsonl, csv, or table and markdown."""
    if fmt == "json":
        return json_record
    if fmt == "jsonl":
        return jsonl_record
    if fmt == "csv":
        return CsvRecord(ruleset, tuple(dimensions))
    if fmt in ("table", "markdown"):
        return summary_record
    raise ValueError(f"unknown batch format {fmt!r}")


class Spool:
    """Records under their sort keys, read back in key order; arrival order breaks ties.

    The records go to a temporary file as they come. Their keys are sorted a run of
    ``RUN`` at a time, and each sorted run is written out too, in pickled blocks; reading
    merges the runs a block of each at a time. So memory holds one run and one block per
    run, not a key per profile: a batch of 100,000 profiles keeps what one of 10,000 does.
    """

    def __init__(self) -> None:
        import tempfile  # not at import: ``score`` starts without it

        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self._runs_file: IO[bytes] | None = None
        self._runs: list[list[tuple[int, int]]] = []  # each run's blocks: offset, size
        self._run: list[tuple[Any, int, int, int]] = []  # key, arrival, offset, size
        self._count = 0
        self._size = 0

    def add(self, key: Any, data: bytes) -> None:
        self._run.append((key, self._count, self._size, len(data)))
        self._file.write(data)
        self._count += 1
        self._size += len(data)
        if len(self._run) >= RUN:
            self._write_run()

    def __len__(self) -> int:
        return self._count

    def _write_run(self) -> None:
        import pickle
        import tempfile

        if self._runs_file is None:
            self._runs_file = tempfile.TemporaryFile()
        out = self._runs_file
        out.seek(0, io.SEEK_END)
        # the arrival number is unique, so no two entries compare past it
        self._run.sort()
        blocks = []
        for i in range(0, len(self._run), BLOCK):
            data = pickle.dumps(self._run[i:i + BLOCK], pickle.HIGHEST_PROTOCOL)
            blocks.append((out.tell(), len(data)))
            out.write(data)
        self._runs.append(blocks)
        self._run = []

    def _entries(self) -> Iterator[tuple[Any, int, int, int]]:
        """Every entry in key order (then arrival order)."""
        if not self._runs:
            return iter(sorted(self._run))
        if self._run:
            self._write_run()
        return heapq.merge(*(self._read_run(blocks) for blocks in self._runs))

    def _read_run(self, blocks: list[tuple[int, int]]) -> Iterator[tuple[Any, int, int, int]]:
        import pickle

        runs = self._runs_file
        assert runs is not None
        for offset, size in blocks:
            runs.seek(offset)
            yield from pickle.loads(runs.read(size))

    def ranked(self) -> Iterator[bytes]:
        read, seek = self._file.read, self._file.seek
        for _, _, offset, size in self._entries():
            seek(offset)
            yield read(size)

    def close(self) -> None:
        self._file.close()
        if self._runs_file is not None:
            self._runs_file.close()


@dataclass
class RankedBatch:
    """A scored batch whose results are rendered records in a spool: ``records()`` gives
    them in rank order. Close it (or use it as a context manager) to free the spool."""

    ruleset: RulesetInfo
    errors: tuple[ErrorOut, ...]
    selection: Selection | None
    spool: Spool = field(repr=False)

    def __len__(self) -> int:
        return len(self.spool)

    def records(self) -> Iterator[bytes]:
        return self.spool.ranked()

    def close(self) -> None:
        self.spool.close()

    def __enter__(self) -> RankedBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- writers: each writes a whole document to a binary stream, one record at a time -----------

_MARK = "latticework:results"


def write_json(out: IO[bytes], ruleset: RulesetInfo, records: Iterator[bytes] | list[bytes],
               errors: tuple[ErrorOut, ...], selection: Selection | None) -> None:
    """The batch JSON document (``render.batch_json``'s bytes) from ``json_record`` records."""
    records = iter(records)
    first = next(records, None)
    data = {"ruleset": ruleset.model_dump(mode="json"),
            "results": [] if first is None else [_MARK],
            "errors": [e.model_dump(mode="json") for e in errors],
            "selection": selection.model_dump(mode="json") if selection else None}
    text = _safe_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
    if first is None:
        out.write(text.encode())
        return
    # the marker is the first string of the document after the rule set's: the results
    # come before the errors, whose messages could hold any text
    head, tail = text.split(f'    "{_MARK}"', 1)
    out.write(head.encode())
    out.write(first)
    for record in records:
        out.write(b",\n")
        out.write(record)
    out.write(tail.encode())


def write_jsonl(out: IO[bytes], records: Iterator[bytes]) -> None:
    for record in records:
        out.write(record)


def write_csv(out: IO[bytes], record: CsvRecord, records: Iterator[bytes]) -> None:
    """The ranking as CSV (``export.batch_csv``'s bytes) from ``CsvRecord`` records: the
    rank goes first, and a number never needs quoting."""
    out.write(record.header())
    for rank, line in enumerate(records, 1):
        out.write(b"%d," % rank)
        out.write(line)


def summaries(batch: RankedBatch) -> Any:
    """A ``BatchResult`` of ``summary_record`` records, for ``tables.batch_table``: the
    scores of every profile in rank order, without their explanations."""
    import pickle

    from .results import BatchResult

    results = tuple(pickle.loads(r) for r in batch.records())
    return BatchResult(batch.ruleset, results, batch.errors, batch.selection)


def write(out: IO[bytes], batch: RankedBatch, fmt: str, record: Record) -> None:
    """A ranked batch of ``record_for(fmt, ...)`` records in ``fmt`` (json, jsonl, csv),
    written as its records come. Tables are ``tables.batch_table(summaries(batch), ...)``."""
    if fmt == "json":
        write_json(out, batch.ruleset, batch.records(), batch.errors, batch.selection)
    elif fmt == "jsonl":
        write_jsonl(out, batch.records())
    elif fmt == "csv":
        assert isinstance(record, CsvRecord)
        write_csv(out, record, batch.records())
    else:
        raise ValueError(f"{fmt!r} is not written as a stream: use summaries()")
