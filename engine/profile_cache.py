"""A cache of validated profiles on disk, so that a batch over unchanged files skips YAML.

Reading a profile file is most of what a batch over files costs: libyaml's events become
Python objects one by one (about 600 for a 300-line profile), and pydantic validates some
40 models. A profile that loaded without problems is stored under a digest of its file's
text, the engine's own source files, the package version and the Python version; the same
text under the same engine is the same profile, so it is read back (a few hundred
microseconds) instead of parsed again. Only what depends on the text alone is cached: the
citations, which depend on the rule set's catalog, are checked at every load, and a file
with any problem is never stored, so its errors, with their lines, are reported every time.

The entries live in one SQLite file in the per-user cache directory of
:mod:`engine.rule_cache` (``LATTICEWORK_NO_CACHE`` turns both off,
``LATTICEWORK_CACHE_DIR`` moves both), at most ``MAX_ENTRIES`` of them, the oldest
dropped first. Anything that goes wrong with the cache (a corrupt or locked database, a
read-only disk, an entry that no longer unpickles) is ignored: the file is parsed as if
there were no cache. Worker processes of ``batch --jobs`` share the file; SQLite
serialises their writes.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import sqlite3
import typing
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .profile import Profile
from .rule_cache import cache_dir
from .rule_cache import code_fingerprint

MAX_ENTRIES = 100_000  # about 5 KB each: a batch of this many files stays warm
_FORMAT = b"latticework-profile-cache-1"
_FILE = "profiles.sqlite"
_PENDING_LIMIT = 256  # entries written in one transaction


# --- pickling the models ------------------------------------------------------------------
#
# pickle finds a class by its module and name, and pydantic's parametrized models
# (Fact[CommitmentTier]) have no name pickle can look up. Every model class a profile is
# built of is reached from Profile's annotations and given a name here, and pickled by it.


@cache
def _models() -> dict[str, type[BaseModel]]:
    named: dict[str, type[BaseModel]] = {}
    seen: set[type[BaseModel]] = set()

    def walk(annotation: Any) -> None:
        for arg in typing.get_args(annotation):
            walk(arg)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            named[f"{annotation.__module__}:{annotation.__qualname__}#{len(named)}"] = annotation
            for field in annotation.model_fields.values():
                walk(field.annotation)

    walk(Profile)
    return named


@cache
def _dispatch() -> dict[type, Any]:
    # a model class goes by its name here, and a model as its class and state: loading
    # makes it with the class's __new__ (pickle's NEWOBJ, no Python call) and hands the
    # state to pydantic's own __setstate__, which validates nothing again
    names = {model: name for name, model in _models().items()}
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[type(Profile)] = lambda model: (_model_named, (names[model],))
    for model in names:
        table[model] = _reduce
    return table


def _reduce(obj: BaseModel) -> tuple[Any, ...]:
    return (copyreg.__newobj__, (type(obj),), obj.__getstate__())  # type: ignore[attr-defined]


def _model_named(name: str) -> type[BaseModel]:
    return _models()[name]


def dumps(profile: Profile) -> bytes:
    """The profile pickled, its model classes by their names here, and compressed."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch()
    pickler.dump(profile)
    return zlib.compress(out.getvalue(), 1)


def loads(data: bytes) -> Profile:
    profile = pickle.loads(zlib.decompress(data))
    if type(profile) is not Profile:
        raise TypeError(f"the entry holds a {type(profile).__name__}, not a Profile")
    return profile


# --- the store ------------------------------------------------------------------------------


class ProfileCache:
    """Validated profiles by the digest of their text; every method fails silently."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._broken = path is None
        self._pending: list[tuple[bytes, bytes]] = []
        self.hits = 0
        self.misses = 0
        self._last: tuple[str | None, bytes] = (None, b"")

    @property
    def enabled(self) -> bool:
        return not self._broken

    def key(self, text: str) -> bytes:
        # a miss is followed by a put of the same text: its digest is taken once
        if text is self._last[0]:
            return self._last[1]
        h = hashlib.blake2b(_FORMAT, digest_size=24)
        h.update(code_fingerprint().encode())
        h.update(text.encode("utf-8", "surrogatepass"))
        self._last = (text, h.digest())
        return self._last[1]

    def _open(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                assert self.path is not None
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # created private, as the rule sets' cache files are: it holds pickles
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
                db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS profiles "
                           "(key BLOB PRIMARY KEY, data BLOB NOT NULL)")
                self._db = db
            except (sqlite3.Error, OSError):
                self._broken = True
        return self._db

    def get(self, text: str) -> Profile | None:
        """The profile this text was validated into before, or None."""
        db = self._open()
        if db is None:
            return None
        try:
            row = db.execute("SELECT data FROM profiles WHERE key = ?", (self.key(text),)).fetchone()
            profile = loads(row[0]) if row is not None else None
        except Exception:  # noqa: BLE001 - a torn or stale entry: parse the file instead
            profile = None
        if profile is None:
            self.misses += 1
        else:
            self.hits += 1
        return profile

    def put(self, text: str, profile: Profile) -> None:
        """Keep the profile the text was validated into; written with the next flush."""
        if self._broken:
            return
        try:
            self._pending.append((self.key(text), dumps(profile)))
        except Exception:  # noqa: BLE001 - a profile that does not pickle is only not cached
            return
        if len(self._pending) >= _PENDING_LIMIT:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        db = self._open() if pending else None
        if db is None:
            return
        try:
            with db:  # one transaction: a crash leaves all of these or none
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO profiles (key, data) VALUES (?, ?)",
                               pending)
                # the oldest entries go first: rowids grow with every insert
                db.execute("DELETE FROM profiles WHERE rowid <= "
                           "(SELECT max(rowid) FROM profiles) - ?", (MAX_ENTRIES,))
        except sqlite3.Error:
            self._broken = True

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None


def open_cache() -> ProfileCache:
    """The cache in the per-user cache directory, or a disabled one."""
    root = cache_dir()
    return ProfileCache(None if root is None else root / _FILE)


__all__ = ["MAX_ENTRIES", "ProfileCache", "dumps", "loads", "open_cache"]
