"""Batches whose memory does not grow with their size (issue 14): the file list kept as
one string, snapshots chosen in one pass over it, chunks made on demand, and the spool's
keys sorted in runs and merged. Each gives what the plain lists did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from engine import streaming
from engine.batch import Chunks
from engine.batch import select_snapshots
from engine.filelist import FileList
from engine.loader import profile_files

# names that sort between a country's snapshots, or next to them: "a@2020x" between
# a@2020 and a@2021, "a.b" and "a0" beside "a@", a file not named as a key at all
COUNTRIES = st.sampled_from(["a", "a0", "a.b", "ab", "b", "é"])
YEARS = st.sampled_from(["2019", "2020", "2021", "2020x", "x", "２０２２", "²"])
NAMES = st.one_of(
    st.builds(lambda c, y, ext: f"{c}@{y}{ext}", COUNTRIES, YEARS,
              st.sampled_from([".yaml", ".yml", ".YAML"])),
    st.sampled_from(["notes.yaml", "a.yaml", "zz.yml"]),
)


def plain_selection(paths: list[Path], edition: int | None, every: bool) -> list[Path]:
    """The choice as the plain lists made it: every path keyed at once, then filtered."""
    def key(p: Path) -> tuple[str, int | None]:
        country, at, year = p.stem.partition("@")
        return country, int(year) if at and year.isdecimal() else None

    if every:
        return list(paths)
    if edition is not None:
        return [p for p in paths if key(p)[1] in (None, edition)]
    latest: dict[str, int] = {}
    for p in paths:
        country, year = key(p)
        if year is not None:
            latest[country] = max(latest.get(country, year), year)
    return [p for p in paths if key(p)[1] in (None, latest.get(key(p)[0]))]


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, unique=True, max_size=25),
       st.sampled_from([(None, False), (2020, False), (2021, False), (None, True)]))
def test_one_pass_over_names_chooses_what_the_whole_list_did(names, how):
    edition, every = how
    directory = Path("profiles")
    files = FileList.in_directory(directory, list(names))
    chosen, selection = select_snapshots(files, edition, every)
    want = plain_selection(sorted(directory / n for n in names), edition, every)
    assert list(chosen) == want
    assert (selection.profiles, selection.snapshots) == (len(want), len(names))


def test_a_list_of_paths_in_any_order_is_chosen_among_in_name_order():
    paths = [Path("x/b@2021.yaml"), Path("y/a@2020.yaml"), Path("x/a@2021.yaml")]
    chosen, _ = select_snapshots(paths)
    assert list(chosen) == [Path("x/a@2021.yaml"), Path("x/b@2021.yaml")]


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1), max_size=40),
       st.integers(-45, 45), st.integers(-45, 45), st.sampled_from([None, 1, 2, 3, -1, -2]))
def test_a_file_list_reads_as_the_list_of_its_paths(texts, start, stop, step):
    files = FileList.of(texts)
    want = [Path(t) for t in sorted(texts, key=lambda t: (os.path.basename(t), t))]
    assert len(files) == len(want)
    assert list(files) == want
    assert [files[i] for i in range(-len(want), len(want))] == want + want
    assert list(files[start:stop:step]) == want[start:stop:step]
    with pytest.raises(IndexError):
        files[len(want)]
    with pytest.raises(IndexError):
        files[-len(want) - 1]


@pytest.mark.parametrize("directory", [".", "/", "some/where", "../up"])
def test_a_directory_s_files_are_spelled_as_directory_slash_name(directory):
    files = FileList.in_directory(Path(directory), ["b.yaml", "a.yaml"])
    assert [str(p) for p in files] == [str(Path(directory) / n) for n in ("a.yaml", "b.yaml")]


def test_profile_files_lists_the_directory_in_name_order(tmp_path):
    for name in ["b@2020.yaml", "a@2021.YML", ".hidden.yaml", "notes.txt", "a@2020.yaml"]:
        (tmp_path / name).write_text("")
    assert list(profile_files(tmp_path)) == [
        tmp_path / "a@2020.yaml", tmp_path / "a@2021.YML", tmp_path / "b@2020.yaml"]


@given(st.integers(0, 300), st.integers(1, 70))
def test_chunks_cut_the_files_in_order_and_in_full(n, size):
    files = FileList(f"f{i:04d}.yaml" for i in range(n))
    chunks = Chunks(files, size)
    cut = [chunks[i] for i in range(len(chunks))]
    assert [p for chunk in cut for p in chunk] == list(files)
    assert all(len(c) == size for c in cut[:-1]) and all(0 < len(c) <= size for c in cut)
    assert chunks[-1] == cut[-1] if cut else len(chunks) == 0
    assert list(chunks.lengths()) == [len(c) for c in cut]  # what progress bars are told


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["", "a", "b"])), max_size=200),
       st.integers(1, 50), st.integers(1, 9))
def test_the_spool_sorts_its_keys_in_runs_and_merges_them_as_one_stable_sort(keys, run, block):
    records = [(key, f"{i}|".encode()) for i, key in enumerate(keys)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(streaming, "RUN", run)
        patch.setattr(streaming, "BLOCK", block)
        spool = streaming.Spool()
        try:
            for key, data in records:
                spool.add(key, data)
            want = [data for _, data in sorted(records, key=lambda r: r[0])]
            assert len(spool) == len(records)
            assert list(spool.ranked()) == want
            assert list(spool.ranked()) == want  # read twice, as a table and a file may
        finally:
            spool.close()
