"""One bad file never sinks a batch, and no file is read without bound.

Each broken file of a profiles directory gets its own error record (file, line where
known, code) and every other profile is still scored, with exit 1; files the loader
cannot use (another suffix, dangling or looping links, pipes, devices) are reported,
never skipped in silence; a pipe or a device is refused before it is opened. The
YAML cases (tags on the wrong value, deep nesting) are also in tests/cases/profiles/.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from engine import DurableEngineError
from engine import bundled_dir
from engine import yamlsource
from engine.analysis.sensitivity import analyse
from engine.analysis.sensitivity import ranks_per_draw
from engine.bench.synthetic import random_profiles
from engine.errors import LoadError
from engine.fields import flatten
from engine.loader import load_profile
from engine.loader import profile_files
from engine.yamlsource import MAX_BYTES
from engine.yamlsource import MAX_DEPTH
from engine.yamlsource import load_document
from engine.yamlsource import read_text

from .helpers import run_cli
from .helpers import write_rules

GOOD = ("japan@2022", "india@2022")


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    """A directory of two good profiles, to plant bad files beside."""
    d = tmp_path / "profiles"
    d.mkdir()
    for key in GOOD:
        shutil.copy(bundled_dir("profiles") / f"{key}.yaml", d)
    return d


def batch(profiles: Path, *extra: str) -> tuple[int, dict]:
    result = run_cli("batch", "--all", "--profiles", str(profiles),
                                       "--format", "json", *extra)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, (SystemExit, type(None))), result.exception
    return result.exit_code, json.loads(result.stdout)


def errors_by_file(data: dict) -> dict[str, dict]:
    return {Path(e["source"]).name: e for e in data["errors"]}


def assert_good_scored(data: dict) -> None:
    assert sorted(r["profile"] for r in data["results"]) == sorted(GOOD)


def profile_text(country: str, extra: str = "") -> str:
    return (f"country: {country}\nname: {country.title()}\nas_of: 2022-07-01\n"
            f"commitment:\n  tier: none\n{extra}")


def test_every_bad_file_gets_its_own_record_and_the_rest_are_scored(profiles: Path):
    (profiles / "bool@2022.yaml").write_text(profile_text("bool", "summary: !!bool abc\n"))
    (profiles / "deep@2022.yaml").write_text(
        profile_text("deep", "summary: " + "[" * 600 + "]" * 600 + "\n"))
    (profiles / "loop@2022.yaml").symlink_to("loop@2022.yaml")
    (profiles / "dangling@2022.yaml").symlink_to("nowhere.yaml")
    (profiles / "device@2022.yaml").symlink_to("/dev/zero")
    os.mkfifo(profiles / "fifo@2022.yaml")  # opened for reading, it would wait for a writer
    (profiles / "dir@2022.yaml").mkdir()
    (profiles / "short@2022.yml").write_text(profile_text("short"))
    (profiles / "upper@2022.YAML").write_text(profile_text("upper"))
    (profiles / "notes.txt").write_text("not a profile\n")
    (profiles / ".#japan@2022.yaml").symlink_to("editor@host.1234")  # an editor's lock file

    code, data = batch(profiles)
    assert code == 1
    assert_good_scored(data)
    errors = errors_by_file(data)
    assert {name: e["code"] for name, e in errors.items()} == {
        "bool@2022.yaml": "yaml-value",
        "deep@2022.yaml": "yaml-too-deep",
        "loop@2022.yaml": "unreadable",
        "dangling@2022.yaml": "file-not-found",
        "device@2022.yaml": "not-a-file",
        "fifo@2022.yaml": "not-a-file",
        "dir@2022.yaml": "not-a-file",
        "short@2022.yml": "file-name",
        "upper@2022.YAML": "file-name",
    }
    assert errors["bool@2022.yaml"]["message"].startswith("line 6: field 'summary':")
    assert errors["deep@2022.yaml"]["message"].startswith("line 6:")
    assert "symbolic links that lead back" in errors["loop@2022.yaml"]["message"]
    assert "'nowhere.yaml', which does not exist" in errors["dangling@2022.yaml"]["message"]
    assert "character device" in errors["device@2022.yaml"]["message"]
    assert "named pipe (FIFO)" in errors["fifo@2022.yaml"]["message"]
    assert "short@2022.yaml" in errors["short@2022.yml"]["message"]


def test_the_table_names_each_bad_file_on_standard_error(profiles: Path):
    (profiles / "bool@2022.yaml").write_text(profile_text("bool", "summary: !!bool abc\n"))
    (profiles / "loop@2022.yaml").symlink_to("loop@2022.yaml")
    result = run_cli("batch", "--profiles", str(profiles))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "2 profiles could not be scored:" in result.stderr
    assert "bool@2022.yaml: line 6: field 'summary'" in result.stderr
    assert "loop@2022.yaml: cannot be read" in result.stderr


def test_a_symlink_loop_given_alone_is_a_message(tmp_path: Path):
    loop = tmp_path / "loop@2022.yaml"
    loop.symlink_to(loop.name)
    result = run_cli("score", str(loop))
    assert result.exit_code == 2, result.output
    assert "symbolic links that lead back" in result.output and "[unreadable]" in result.output


def deny(monkeypatch, call: str, victim: Path) -> None:
    """Make ``os.<call>`` refuse ``victim`` as a permission error: run as root, chmod
    hides nothing, so the refusal is simulated where the file is reached."""
    real = getattr(os, call)

    def guarded(path, *args, **kwargs):
        if Path(path) == victim:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, call, guarded)


@pytest.mark.parametrize("call, name", [
    # run as root, chmod hides nothing: the refusal is simulated where the file is opened
    ("open", "secret"),
    # a directory readable but not searchable lists its names but cannot stat them
    ("stat", "hidden"),
])
def test_a_file_that_cannot_be_opened_or_examined_is_one_record(profiles: Path, monkeypatch,
                                                                call: str, name: str):
    victim = profiles / f"{name}@2022.yaml"
    victim.write_text(profile_text(name))
    deny(monkeypatch, call, victim)
    code, data = batch(profiles)
    assert code == 1
    assert_good_scored(data)
    (error,) = data["errors"]
    assert error["source"].endswith(f"{name}@2022.yaml")
    assert error["code"] == "unreadable" and "Permission denied" in error["message"]


def test_an_unreadable_profiles_directory_is_a_message(profiles: Path, monkeypatch):
    real_listdir = os.listdir

    def guarded(path="."):
        if Path(path) == profiles:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", guarded)
    result = run_cli("batch", "--profiles", str(profiles))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{profiles}: the directory of profile files cannot be read (Permission denied) " \
           "[unreadable]" in result.output


def test_a_profiles_path_that_is_a_file_is_a_message(profiles: Path):
    with pytest.raises(LoadError, match=r"expected a directory of profile files, found a file"):
        profile_files(profiles / "india@2022.yaml")
    with pytest.raises(LoadError, match="no such directory"):
        profile_files(profiles / "nope")


def test_a_key_with_only_a_yml_file_is_reported_and_yaml_wins_over_other_suffixes(profiles):
    (profiles / "short@2022.yml").write_text(profile_text("short"))
    result = run_cli("score", "short@2022", "--profiles", str(profiles))
    assert result.exit_code == 2 and "[file-name]" in result.output
    (profiles / "india@2022.YAML").write_text("not: the profile\n")
    result = run_cli("score", "india@2022", "--profiles", str(profiles))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused_before_it_is_read(device):
    result = run_cli("score", device)
    assert result.exit_code == 2
    assert result.output == (f"Error: {device}: expected a regular YAML file, found a character "
                             "device; a pipe or a device is never read as a latticework file "
                             "[not-a-file]\n")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    fifo = tmp_path / "fifo@2022.yaml"
    os.mkfifo(fifo)
    with pytest.raises(LoadError, match=r"named pipe \(FIFO\)") as info:
        read_text(fifo)
    assert info.value.code == "not-a-file"


def test_at_most_the_limit_and_one_byte_is_read(monkeypatch):
    # were the name swapped for a device between the check and the read, /dev/zero
    # (which never ends) would still be read no further than the limit
    monkeypatch.setattr(yamlsource, "_check_regular", lambda path, mode: None)
    with pytest.raises(LoadError, match=f"found more than {MAX_BYTES:,}") as info:
        read_text(Path("/dev/zero"))
    assert info.value.code == "file-too-large"


@pytest.mark.parametrize("size_said", [0, 5, 7_000, 20_000, 200_000])
@pytest.mark.parametrize("limit", [1, 6_999, 7_000, 7_001, 150_000])
def test_a_file_is_read_whole_or_to_the_limit_whatever_its_size_said(tmp_path, size_said, limit):
    # the size from fstat is only where reading starts: a file that grew or shrank since
    # (or a file system that reports 0) is still read to its end or to the limit
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 27 + b"x" * 88)  # 7,000 bytes
    fd = os.open(path, os.O_RDONLY)
    try:
        got = yamlsource._read_at_most(fd, limit, size_said)
    finally:
        os.close(fd)
    assert got == path.read_bytes()[:limit]


def test_a_large_file_is_refused_by_its_size_without_reading_it(tmp_path: Path):
    big = tmp_path / "big@2022.yaml"
    with big.open("wb") as fh:
        fh.truncate(3_000_000_000)  # sparse: costs no disk and, unread, no time
    with pytest.raises(LoadError, match="found 3,000,000,000") as info:
        read_text(big)
    assert info.value.code == "file-too-large"


# --- the depth limit -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "- " * 150 + "x\n",  # compact nested sequences on one line
    "".join(" " * i + "- &a" + str(i) + " !!seq\n" for i in range(0, 300, 2)),
    "x: " + "[a: " * 80 + "b" + "]" * 80 + "\n",  # each '[a: ' opens a list and a mapping
])
def test_deep_nesting_of_every_kind_is_refused(text):
    with pytest.raises(LoadError) as info:
        load_document("deep.yaml", text)
    assert info.value.code == "yaml-too-deep", info.value


def nested(depth: int, draw_kind) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value] if draw_kind() else {"k": value}
    return value


def test_nesting_up_to_the_limit_loads():
    # the top mapping and MAX_DEPTH - 1 lists
    doc = load_document("ok.yaml", "x: " + "[" * (MAX_DEPTH - 1) + "x" + "]" * (MAX_DEPTH - 1))
    assert doc.data["x"] == nested(MAX_DEPTH - 1, lambda: True)


def test_a_megabyte_of_brackets_is_refused_at_once(tmp_path: Path):
    # libyaml needs time quadratic in the depth; the check stops at the first level too many
    big = tmp_path / "brackets@2022.yaml"
    big.write_text("x: " + "[" * (MAX_BYTES - 10) + "\n")
    with pytest.raises(LoadError, match="at depth 101"):
        load_document(big)


# --- scoring errors stay with their profile ---------------------------------------------------


def test_a_profile_durable_rules_fails_on_is_one_record(profiles: Path, engine, monkeypatch):
    india = flatten(load_profile(profiles / "india@2022.yaml").profile)
    real_fired = engine.evaluator.fired

    def fired(fact):
        if fact == india:
            raise DurableEngineError("india@2022: durable_rules failed on the profile (303)")
        return real_fired(fact)

    monkeypatch.setattr(engine.evaluator, "fired", fired)
    result = engine.batch(profiles, every_snapshot=True)
    assert [r.profile for r in result.results] == ["japan@2022"]
    (error,) = result.errors
    assert error.source.endswith("india@2022.yaml") and error.code == "durable-refused"
    assert "(303)" in error.message


def test_a_text_longer_than_durable_rules_keeps_is_scored_or_reported_alone(tmp_path: Path):
    # durable_rules keeps 16-bit string lengths: 65,539 characters "equal" 'abc'
    rules = write_rules(tmp_path, [{"id": "instrument-abc", "points": {"guarantee_strength": 10},
                                    "when": {"field": "commitment.instrument", "equals": "abc"}}])
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "short@2022.yaml").write_text(profile_text("short", "  instrument: abd\n"))
    long = "abc" + "x" * 65_536
    (d / "long@2022.yaml").write_text(profile_text("long", f"  instrument: {long}\n"))
    result = run_cli("batch", "--all", "--rules", str(rules), "--profiles",
                                       str(d), "--format", "json")
    assert "Traceback" not in result.output
    data = json.loads(result.stdout)
    scored = {r["profile"]: r for r in data["results"]}
    assert "short@2022" in scored
    if "long@2022" in scored:
        assert result.exit_code == 0
        fired = {c["rule"] for s in scored["long@2022"]["dimensions"].values()
                 for c in s["contributions"]}
        assert "instrument-abc" not in fired
    else:
        assert result.exit_code == 1
        (error,) = data["errors"]
        assert error["source"].endswith("long@2022.yaml")


# --- sensitivity: ranks in profiles x draws ---------------------------------------------------


def pairwise_ranks(scores: np.ndarray) -> np.ndarray:
    """The former formula, kept as the reference: every pair of profiles in every draw."""
    s = scores.astype(np.float64)
    return (s[None, :, :] > s[:, None, :]).sum(axis=1) + 1


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (17, 33), (300, 40)])
@pytest.mark.parametrize("cells", [1, 64, 1 << 20])
def test_ranks_per_draw_equal_the_pairwise_formula(shape, cells):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for high in (3, 101):  # few values: many ties, which share the better rank
        scores = rng.integers(0, high, size=shape).astype(np.int16)
        assert (ranks_per_draw(scores, cells) == pairwise_ranks(scores)).all()


def test_ranks_of_two_thousand_profiles_by_two_hundred_draws_stay_small():
    scores = np.random.default_rng(7).integers(0, 101, size=(2000, 200)).astype(np.int16)
    tracemalloc.start()
    try:
        ranks = ranks_per_draw(scores)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # pairwise, this was 800 MB of comparisons; profiles x draws of uint16 is 800 kB
    assert ranks.dtype == np.uint16 and ranks.shape == (2000, 200)
    assert peak < 40_000_000
    column = scores[:, 123]
    for p in (0, 999, 1999):
        assert ranks[p, 123] == 1 + (column > column[p]).sum()


def test_sensitivity_gives_the_same_result_as_with_pairwise_ranks(engine, monkeypatch):
    profiles = list(random_profiles(60, seed=4))
    loaded, _ = engine.load_profiles()
    profiles += [lp.profile for lp in loaded if lp.profile.as_of.year == 2022][:20]
    new = analyse(engine, profiles, draws=40, seed=2, chunk=15)
    import engine.analysis.sensitivity as sensitivity

    monkeypatch.setattr(sensitivity, "ranks_per_draw", lambda scores: pairwise_ranks(scores))
    old = analyse(engine, profiles, draws=40, seed=2, chunk=15)
    assert new.model_dump_json() == old.model_dump_json()
    assert any(p.rank_kept < 1 for p in new.partners)
