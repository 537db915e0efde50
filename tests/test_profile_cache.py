"""The on-disk cache of validated profiles: the same text gives back an equal profile and
the same output, a changed text is read afresh, a file with problems is never kept, the
citations are checked against today's catalog every time, and a broken or disabled cache
only costs time."""

from __future__ import annotations

import datetime as dt
import pickle
import sqlite3
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from pydantic import BaseModel

from engine import bundled_dir
from engine import profile_cache
from engine.catalog import Catalog
from engine.errors import LoadErrors
from engine.loader import load_files
from engine.loader import load_profile
from engine.profile import Commitment
from engine.profile import Profile
from engine.profile_cache import ProfileCache
from engine.profile_cache import dumps
from engine.profile_cache import loads
from engine.profile_cache import open_cache
from engine.rule_cache import CACHE_DIR_ENV
from engine.rule_cache import NO_CACHE_ENV
from engine.yamlsource import load_document

from .helpers import run_cli
from .strategies import profiles


def _entries(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / "profiles.sqlite") as db:
        return db.execute("SELECT count(*) FROM profiles").fetchone()[0]


def test_every_bundled_profile_comes_back_equal_and_of_the_same_classes(engine):
    loaded, errors = load_files(sorted(bundled_dir("profiles").glob("*.yaml")),
                                engine.ruleset.catalog)
    assert not errors and len(loaded) > 100
    for lp in loaded:
        back = loads(dumps(lp.profile))
        assert back == lp.profile
        assert_same_models(back, lp.profile)
        assert back.model_dump_json(exclude_unset=True) == \
            lp.profile.model_dump_json(exclude_unset=True)


def assert_same_models(a, b):
    """The same classes, values and fields set, model by model down the tree."""
    assert type(a) is type(b)
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set
        assert (a.__pydantic_extra__, a.__pydantic_private__) == (None, None)
        assert list(a.__dict__) == list(b.__dict__)
        for name in a.__dict__:
            assert_same_models(a.__dict__[name], b.__dict__[name])
    else:
        assert a == b


def test_a_second_load_comes_from_the_cache(engine, tmp_path, cache_dir):
    path = tmp_path / "india@2022.yaml"
    path.write_text((bundled_dir("profiles") / "india@2022.yaml").read_text())
    first_cache = open_cache()
    first = load_profile(path, engine.ruleset.catalog, first_cache)
    first_cache.close()
    assert (first_cache.hits, first_cache.misses) == (0, 1)
    again = open_cache()
    second = load_profile(path, engine.ruleset.catalog, again)
    again.close()
    assert (again.hits, again.misses) == (1, 0)
    assert second.profile == first.profile and second.file == first.file
    assert engine.score(second.profile) == engine.score(first.profile)


def test_a_changed_file_is_read_afresh_and_its_errors_name_the_line(engine, tmp_path, cache_dir):
    path = tmp_path / "india@2022.yaml"
    good = (bundled_dir("profiles") / "india@2022.yaml").read_text()
    path.write_text(good)
    load_files([path], engine.ruleset.catalog)
    assert _entries(cache_dir) == 1
    bad = good.replace("as_of: 2022-", "as_of: 2022-13-", 1)
    assert bad != good
    path.write_text(bad)
    _, errors = load_files([path], engine.ruleset.catalog)
    as_of_line = next(i for i, row in enumerate(bad.splitlines(), 1) if row.startswith("as_of:"))
    assert [(e.code, e.line) for e in errors] == [("wrong-type", as_of_line)]
    assert _entries(cache_dir) == 1  # the bad text was not kept


def test_a_file_with_problems_is_never_cached(engine, tmp_path, cache_dir):
    path = tmp_path / "testland@2022.yaml"
    path.write_text("country: testland\nname: Testland\nas_of: 2022-07-01\ncommitment:\n"
                    "  tier: bilateral-treaty\nnot_a_field: 1\n")
    for _ in range(2):
        _, errors = load_files([path], engine.ruleset.catalog)
        assert [(e.code, e.line) for e in errors] == [("unknown-field", 6)]
    assert _entries(cache_dir) == 0


def test_citations_of_a_cached_profile_are_checked_against_todays_catalog(
        engine, tmp_path, cache_dir):
    path = tmp_path / "india@2022.yaml"
    text = (bundled_dir("profiles") / "india@2022.yaml").read_text()
    path.write_text(text)
    load_files([path], engine.ruleset.catalog)  # cached, its citations fine
    lp = load_profile(path, engine.ruleset.catalog)
    cited = lp.profile.commitment.tier.source  # type: ignore[union-attr]
    assert cited is not None
    source_id = cited.partition("#")[0]
    without = Catalog(tuple(e for e in engine.ruleset.catalog.entries.values()
                            if e.id != source_id))
    cache = open_cache()
    with pytest.raises(LoadErrors) as caught:
        load_profile(path, without, cache)
    cache.close()
    assert cache.hits == 1  # read back from the cache, and still checked
    problem = next(e for e in caught.value.errors if e.field == "commitment.tier.source")
    assert problem.code == "unknown-source"
    # the line is found in the file's text, parsed only for this error
    assert problem.line == load_document(path).line_of(("commitment", "tier", "source"))
    assert problem.line is not None


def test_a_corrupt_cache_is_ignored(engine, tmp_path, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "profiles.sqlite").write_bytes(b"this is not a database" * 100)
    path = tmp_path / "india@2022.yaml"
    path.write_text((bundled_dir("profiles") / "india@2022.yaml").read_text())
    loaded, errors = load_files([path], engine.ruleset.catalog)
    assert not errors and loaded[0].profile.key == "india@2022"


def test_an_entry_that_does_not_unpickle_is_read_afresh(engine, tmp_path, cache_dir):
    path = tmp_path / "india@2022.yaml"
    text = (bundled_dir("profiles") / "india@2022.yaml").read_text()
    path.write_text(text)
    load_files([path], engine.ruleset.catalog)
    with sqlite3.connect(cache_dir / "profiles.sqlite") as db:
        db.execute("UPDATE profiles SET data = ?", (b"torn",))
    cache = open_cache()
    lp = load_profile(path, engine.ruleset.catalog, cache)
    cache.close()
    assert (cache.hits, cache.misses) == (0, 1)
    assert lp.profile.key == "india@2022"


def test_the_cache_can_be_turned_off(engine, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    assert not open_cache().enabled
    path = tmp_path / "india@2022.yaml"
    path.write_text((bundled_dir("profiles") / "india@2022.yaml").read_text())
    load_files([path], engine.ruleset.catalog)
    assert not (cache_dir / "profiles.sqlite").exists()


def test_an_unwritable_cache_only_costs_time(engine, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker / "cache"))  # cannot be created
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)
    cache = open_cache()
    path = tmp_path / "india@2022.yaml"
    path.write_text((bundled_dir("profiles") / "india@2022.yaml").read_text())
    assert load_profile(path, engine.ruleset.catalog, cache).profile.key == "india@2022"
    cache.close()
    assert not cache.enabled


def test_the_cache_file_is_private(engine, tmp_path, cache_dir):
    path = tmp_path / "india@2022.yaml"
    path.write_text((bundled_dir("profiles") / "india@2022.yaml").read_text())
    load_files([path], engine.ruleset.catalog)
    assert (cache_dir / "profiles.sqlite").stat().st_mode & 0o077 == 0


def test_the_oldest_entries_go_first(engine, tmp_path, cache_dir, monkeypatch):
    import engine.profile_cache as profile_cache

    monkeypatch.setattr(profile_cache, "MAX_ENTRIES", 3)
    texts = (bundled_dir("profiles") / "india@2022.yaml").read_text()
    cache = ProfileCache(cache_dir / "profiles.sqlite")
    profile = load_profile(bundled_dir("profiles") / "india@2022.yaml").profile
    for i in range(5):
        cache.put(texts + f"# {i}\n", profile)
    cache.close()
    reread = ProfileCache(cache_dir / "profiles.sqlite")
    kept = [reread.get(texts + f"# {i}\n") is not None for i in range(5)]
    reread.close()
    assert kept == [False, False, True, True, True]


def test_batch_output_is_the_same_cold_warm_and_without_the_cache(
        tmp_path, cache_dir, monkeypatch, profiles_copy):
    outputs = []
    for label in ("off", "cold", "warm"):
        if label == "off":
            monkeypatch.setenv(NO_CACHE_ENV, "1")
        else:
            monkeypatch.delenv(NO_CACHE_ENV, raising=False)
        out = tmp_path / f"{label}.json"
        result = run_cli("batch", "--profiles", str(profiles_copy), "--all",
                         "--format", "json", "-o", str(out))
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert _entries(cache_dir) == len(list(profiles_copy.glob("*.yaml")))


def _counting_connects(monkeypatch) -> list[str]:
    """The databases the profile cache connects to from now on, in this process."""
    opened: list[str] = []
    connect = sqlite3.connect

    def counted(database, *args, **kwargs):
        opened.append(str(database))
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(profile_cache.sqlite3, "connect", counted)
    return opened


@pytest.mark.parametrize("streamed", [False, True])
def test_a_batch_holds_one_connection_to_the_cache_for_all_its_chunks(
        engine, cache_dir, monkeypatch, profiles_copy, streamed):
    # closing the last connection copies the write-ahead log into the database and syncs
    # it: once per 64-file chunk, that made filling the cache 1.8 times a batch without it
    files = len(list(profiles_copy.glob("*.yaml")))
    assert files > 64  # more than one chunk
    opened = _counting_connects(monkeypatch)
    if streamed:
        with engine.batch_stream(lambda r: r.profile.encode(), profiles_copy,
                                 every_snapshot=True) as ranked:
            assert len(list(ranked.records())) == files
    else:
        assert len(engine.batch(profiles_copy, every_snapshot=True).results) == files
    assert len(opened) == 1
    assert _entries(cache_dir) == files


def test_the_workers_of_a_batch_commit_what_they_add_to_the_cache(
        engine, cache_dir, profiles_copy):
    # a worker's connection is never closed (it ends with its parent): each chunk's
    # entries must be committed as the chunk ends, or the next batch finds them missing
    files = len(list(profiles_copy.glob("*.yaml")))
    assert len(engine.batch(profiles_copy, every_snapshot=True, jobs=2).results) == files
    assert _entries(cache_dir) == files


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_any_valid_profile_comes_back_the_same_models_by_either_decoder(profile):
    stored = pickle.loads(zlib.decompress(dumps(profile)))
    codec = profile_cache._profile_codec()
    assert_same_models(codec.decode(stored), profile)
    assert_same_models(codec.compiled(stored), profile)


@settings(max_examples=200, deadline=None)
@given(profiles())
def test_either_encoder_stores_any_valid_profile_as_the_same_tuples(profile):
    codec = profile_cache._profile_codec()
    assert codec.compiled_encode(profile, {}) == codec.encode(profile, {})


def test_dumps_turns_to_the_compiled_encoders_after_enough_profiles(engine, monkeypatch):
    (lp,), _ = load_files([bundled_dir("profiles") / "india@2022.yaml"], engine.ruleset.catalog)
    codec = profile_cache._profile_codec()
    used = []
    monkeypatch.setattr(profile_cache, "_dumped", 0)
    for name in ("encode", "compiled_encode"):
        real = getattr(codec, name)
        monkeypatch.setitem(codec.__dict__, name, lambda profile, strings, real=real, name=name:
                            used.append(name) or real(profile, strings))
    stored = {dumps(lp.profile) for _ in range(profile_cache.COMPILE_AFTER + 2)}
    assert used == ["encode"] * profile_cache.COMPILE_AFTER + ["compiled_encode"] * 2
    assert len(stored) == 1


def test_loads_turns_to_the_compiled_decoders_after_enough_profiles(engine, monkeypatch):
    (lp,), _ = load_files([bundled_dir("profiles") / "india@2022.yaml"], engine.ruleset.catalog)
    data = dumps(lp.profile)
    codec = profile_cache._profile_codec()
    used = []
    monkeypatch.setattr(profile_cache, "_loaded", 0)
    for name in ("decode", "compiled"):
        real = getattr(codec, name)
        monkeypatch.setitem(codec.__dict__, name,
                            lambda plain, real=real, name=name: used.append(name) or real(plain))
    for _ in range(profile_cache.COMPILE_AFTER + 2):
        assert_same_models(loads(data), lp.profile)
    assert used == ["decode"] * profile_cache.COMPILE_AFTER + ["compiled"] * 2


@pytest.mark.parametrize("broken", [(), (0,), "text", (0, 1, 2)])
def test_a_stored_tuple_of_the_wrong_shape_is_refused_by_either_decoder(broken):
    codec = profile_cache._profile_codec()
    for decode in (codec.decode, codec.compiled):
        with pytest.raises((ValueError, TypeError)):
            decode(broken)


def test_a_profile_holding_what_its_fields_do_not_say_is_not_stored_by_either_encoder():
    odd = Profile.model_construct(country="x", name="X", as_of=dt.date(2022, 1, 1),
                                  commitment=Commitment.model_construct(tier=[1, 2]))
    with pytest.raises(TypeError):
        dumps(odd)
    codec = profile_cache._profile_codec()
    for encode in (codec.encode, codec.compiled_encode):
        with pytest.raises(TypeError, match=r"^list where Fact\[CommitmentTier\] was expected$"):
            encode(odd, {})
    extra = odd.commitment.model_copy()
    extra.__dict__["unheard_of"] = 1  # a field its model does not have
    for encode in (codec.encode, codec.compiled_encode):
        with pytest.raises(TypeError, match="^a Commitment holding what its fields do not say$"):
            encode(odd.model_copy(update={"commitment": extra}), {})


@pytest.mark.parametrize("where", ["model", "enumeration", "plain"])
def test_either_encoder_refuses_a_value_of_another_kind_alike(engine, where):
    (lp,), _ = load_files([bundled_dir("profiles") / "india@2022.yaml"], engine.ruleset.catalog)
    profile = lp.profile.model_copy(deep=True)
    commitment = profile.commitment
    if where == "model":  # a section holding something other than its model
        profile.__dict__["commitment"] = commitment.__dict__["tier"]
    elif where == "enumeration":  # a fact's confidence not of its enumeration
        commitment.__dict__["tier"].__dict__["confidence"] = "stated-in-document"
    else:  # a plain value of a type the cache does not store
        commitment.__dict__["tier"].__dict__["note"] = ["a", "list"]
    codec = profile_cache._profile_codec()
    errors = []
    for encode in (codec.encode, codec.compiled_encode):
        with pytest.raises(TypeError) as caught:
            encode(profile, {})
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


@given(st.data())
def test_a_mask_of_fields_set_names_those_fields_by_either_decoder(data):
    codecs = sorted(_codecs(profile_cache._profile_codec()), key=lambda c: c.model.__name__)
    codec = data.draw(st.sampled_from(codecs))
    mask = data.draw(st.integers(0, (1 << len(codec.names)) - 1))
    stored = (mask, *(None for _ in codec.names))
    want = {n for i, n in enumerate(codec.names) if mask >> i & 1}
    assert codec.decode(stored).model_fields_set == want
    assert codec.compiled(stored).model_fields_set == want


def _codecs(codec, seen=None):
    seen = set() if seen is None else seen
    if codec.model not in seen:
        seen.add(codec.model)
        yield codec
        for kind in codec.kinds:
            if isinstance(kind, profile_cache._Codec):
                yield from _codecs(kind, seen)


@given(st.data())
def test_a_mask_of_fields_set_is_right_whether_kept_or_not(data):
    # masks are kept by the set of fields up to a bound: past it, each is worked out again
    codec = max(_codecs(profile_cache._profile_codec()), key=lambda c: len(c.names))
    kept = codec._masks
    chosen = data.draw(st.frozensets(st.sampled_from((*codec.names, "not_a_field"))))
    want = sum(1 << codec.names.index(n) for n in chosen if n in codec.names)
    assert codec._mask_of(chosen) == want
    assert kept.get(chosen, want) == want
    assert len(kept) <= profile_cache._MASKS_KEPT


def test_masks_are_kept_only_up_to_the_bound(monkeypatch):
    codec = max(_codecs(profile_cache._profile_codec()), key=lambda c: len(c.names))
    monkeypatch.setitem(codec.__dict__, "_masks", {})
    monkeypatch.setattr(profile_cache, "_MASKS_KEPT", 3)
    sets = [frozenset(codec.names[:k]) for k in range(6)]
    assert [codec._mask_of(s) for s in sets] == [(1 << k) - 1 for k in range(6)]
    assert list(codec._masks) == sets[:3]
