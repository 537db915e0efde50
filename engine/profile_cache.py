"""A cache of validated profiles on disk, so that a batch over unchanged files skips YAML.

Reading a profile file is most of what a batch over files costs: libyaml's events become
Python objects one by one (about 600 for a 300-line profile), and pydantic validates some
40 models. A profile that loaded without problems is stored under a digest of its file's
text, the engine's own source files and the versions of Python, pydantic and
pydantic-core; the same text under the same engine is the same profile, so it is read
back (a few hundred microseconds) instead of parsed again. Only what depends on the text
alone is cached: the citations, which depend on the rule set's catalog, are checked at
every load, and a file with any problem is never stored, so its errors, with their lines,
are reported every time.

The entries live in one SQLite file in the per-user cache directory of
:mod:`engine.rule_cache` (``LATTICEWORK_NO_CACHE`` turns both off,
``LATTICEWORK_CACHE_DIR`` moves both), at most ``MAX_ENTRIES`` of them, the oldest
dropped first. Anything that goes wrong with the cache (a corrupt or locked database, a
read-only disk, an entry that no longer decodes) is ignored: the file is parsed as if
there were no cache. A batch holds one connection for all its files, and each worker
process of ``batch --jobs`` one of its own; SQLite serialises their writes.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
import pickle
import sqlite3
import types
import typing
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from functools import cached_property
from pathlib import Path
from typing import Any
from typing import NoReturn

from pydantic import BaseModel

from .profile import Profile
from .rule_cache import cache_dir
from .rule_cache import code_fingerprint

MAX_ENTRIES = 100_000  # under a kilobyte each: a batch of this many files stays warm
_FORMAT = b"latticework-profile-cache-2"
_FILE = "profiles.sqlite"
_PENDING_LIMIT = 256  # entries written in one transaction


# --- the models as plain tuples -------------------------------------------------------------
#
# A profile is some 45 models. Pickled as models, each was rebuilt by pydantic's
# ``__setstate__`` (a Python call) from a state dict, its class found by its long name,
# each enumeration by a call of its class: unpickling was most of a warm load. Here a model
# is a tuple of its field values in declaration order, after a bit mask of the fields that
# were set, and pickle sees only tuples, strings, numbers and dates. Its class is never
# stored: the annotations say what each position holds (a model, an enumeration or a plain
# value), and the decoder built from them once per class rebuilds it.

_PLAIN = frozenset({str, int, float, bool, dt.date, type(None)})
# masks of fields set kept per model class: the mixes profiles use are a handful, but a
# model of many fields has many more possible
_MASKS_KEPT = 256


@dataclass(frozen=True)
class _Codec:
    """How one model class goes to a tuple and back."""

    model: type[BaseModel]
    names: tuple[str, ...]
    kinds: tuple[Any, ...]  # per field: a model's codec, an enumeration class, or None (plain)

    def encode(self, obj: BaseModel, strings: dict[str, str]) -> tuple[Any, ...]:
        if type(obj) is not self.model:
            _refuse_kind(obj, self.model)
        state = obj.__getstate__()
        values = state["__dict__"]
        if tuple(values) != self.names or state["__pydantic_extra__"] is not None \
                or state["__pydantic_private__"] is not None:
            _refuse_shape(self.model)
        out: list[Any] = [self._mask_of(frozenset(state["__pydantic_fields_set__"]))]
        for kind, value in zip(self.kinds, values.values(), strict=True):
            out.append(_encode_value(kind, value, strings))
        return tuple(out)

    @cached_property
    def _masks(self) -> dict[frozenset[str], int]:
        # a model's fields set, as a mask, by the set: profiles set the same few mixes of
        # a fact's fields over and over, and a loop over the set cost 7 % of encoding
        return {}

    @cached_property
    def _bits(self) -> dict[str, int]:
        return {name: 1 << i for i, name in enumerate(self.names)}

    def _mask_of(self, fields_set: frozenset[str]) -> int:
        """The mask of the fields set (a name that is no field adds nothing), kept for
        the next model that sets the same fields while fewer than ``_MASKS_KEPT`` are."""
        bits = self._bits
        mask = 0
        for name in fields_set:
            mask |= bits.get(name, 0)
        if len(self._masks) < _MASKS_KEPT:
            self._masks[fields_set] = mask
        return mask

    @cached_property
    def compiled_encode(self) -> Callable[[BaseModel, dict[str, str]], tuple[Any, ...]]:
        """``encode`` as a function made for this class, its fields written out: the
        generic one walks the fields in Python with a call per value (480 microseconds
        for a bundled profile, against 194 for this one). Compiled after
        ``COMPILE_AFTER`` profiles, as the decoders are. It refuses what ``encode``
        refuses, with the same errors: the generated source holds only field names and
        names bound to this module's own functions."""
        names = [f"v{i}" for i in range(len(self.names))]
        env: dict[str, Any] = {"cls": self.model, "names": self.names,
                               "refuse_kind": _refuse_kind, "refuse_shape": _refuse_shape,
                               "plain": _encode_plain, "PLAIN": _PLAIN,
                               "masks": self._masks, "mask_of": self._mask_of}
        items = []
        for i, kind in enumerate(self.kinds):
            v = f"v{i}"
            if isinstance(kind, _Codec):
                env[f"e{i}"] = kind.compiled_encode
                items.append(f"None if {v} is None else e{i}({v}, strings)")
            elif kind is not None:
                env[f"k{i}"] = kind
                items.append(f"None if {v} is None else {v}._value_ if type({v}) is k{i} "
                             f"else refuse_kind({v}, k{i})")
            else:  # text is kept once per entry; other plain values as they are
                items.append(f"keep({v}, {v}) if type({v}) is str else {v} "
                             f"if type({v}) in PLAIN else plain({v}, strings)")
        source = "\n".join([
            "def encode(obj, strings):",
            "    if type(obj) is not cls:",
            "        refuse_kind(obj, cls)",
            "    d = obj.__dict__",
            "    if tuple(d) != names or obj.__pydantic_extra__ is not None \\",
            "            or obj.__pydantic_private__ is not None:",
            "        refuse_shape(cls)",
            "    fields_set = frozenset(obj.__pydantic_fields_set__)",
            "    mask = masks.get(fields_set)",
            "    if mask is None:",
            "        mask = mask_of(fields_set)",
            *([f"    {', '.join(names)}, = d.values()"] if names else []),
            "    keep = strings.setdefault",
            f"    return (mask, {''.join(f'({item}), ' for item in items)})",
        ])
        exec(compile(source, f"<profile cache: encode {self.model.__qualname__}>", "exec"), env)
        encode: Callable[[BaseModel, dict[str, str]], tuple[Any, ...]] = env["encode"]
        return encode

    @cached_property
    def decode(self) -> Callable[[tuple[Any, ...]], BaseModel]:
        """The model from its tuple. Some 45 models are rebuilt per profile: only the
        positions that hold a model or an enumeration are visited (a fact's value and
        confidence, a section's facts), and a tuple of the wrong length is refused, as
        a broken entry rather than a profile."""
        cls, names, tables = self.model, self.names, self.fields_set_tables
        first, rest = tables[0], tuple(enumerate(tables[1:], 1))
        width = len(names) + 1
        special = tuple((i + 1, k.decode if isinstance(k, _Codec)
                         else k._value2member_map_.__getitem__)
                        for i, k in enumerate(self.kinds) if k is not None)
        new, set_ = _new, _set

        def decode(data: tuple[Any, ...]) -> BaseModel:
            if len(data) != width:
                raise ValueError(f"a stored {cls.__name__} of {len(data)} values")
            values = list(data)
            for i, f in special:
                v = values[i]
                if v is not None:
                    values[i] = f(v)
            obj = new(cls)
            set_(obj, "__dict__", dict(zip(names, values[1:], strict=True)))
            mask = data[0]
            fields_set = set(first[mask & 255])
            for j, table in rest:
                fields_set.update(table[mask >> 8 * j & 255])
            set_(obj, "__pydantic_fields_set__", fields_set)
            set_(obj, "__pydantic_extra__", None)
            set_(obj, "__pydantic_private__", None)
            return obj

        return decode

    @cached_property
    def compiled(self) -> Callable[[tuple[Any, ...]], BaseModel]:
        """``decode`` as a function made for this class, its fields written out: a third
        fewer instructions per profile, but compiling them all takes some 7 ms, so
        ``loads`` turns to it only once enough profiles have been read to pay for that.

        The generated source holds only the field names (Python identifiers, written as
        literals) and names bound to this module's own functions; unpacking the tuple
        fails on one of the wrong length, which is a broken entry, not a profile."""
        names = [f"v{i}" for i in range(len(self.names))]
        env: dict[str, Any] = {"new": _new, "set_": _set, "cls": self.model}
        tables = self.fields_set_tables
        env.update({f"t{j}": table for j, table in enumerate(tables)})
        items = []
        for i, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            if kind is None:
                items.append(f"{name!r}: v{i}")
                continue
            env[f"d{i}"] = kind.compiled if isinstance(kind, _Codec) \
                else kind._value2member_map_.__getitem__
            items.append(f"{name!r}: None if v{i} is None else d{i}(v{i})")
        source = "\n".join([
            "def decode(data):",
            f"    mask, {', '.join(names)}{',' if len(names) == 1 else ''} = data",
            "    obj = new(cls)",
            f"    set_(obj, '__dict__', {{{', '.join(items)}}})",
            "    fields_set = set(t0[mask & 255])",
            *(f"    fields_set.update(t{j}[mask >> {8 * j} & 255])"
              for j in range(1, len(tables))),
            "    set_(obj, '__pydantic_fields_set__', fields_set)",
            "    set_(obj, '__pydantic_extra__', None)",
            "    set_(obj, '__pydantic_private__', None)",
            "    return obj",
        ])
        exec(compile(source, f"<profile cache: {self.model.__qualname__}>", "exec"), env)
        decode: Callable[[tuple[Any, ...]], BaseModel] = env["decode"]
        return decode

    @cached_property
    def fields_set_tables(self) -> tuple[_FieldsByByte, ...]:
        """The fields a mask of fields set names, by its bytes: for each byte of the mask,
        the names each of its values stands for. A few lookups make a model's fields set,
        whatever mix of a section's fields a profile knows."""
        return tuple(_FieldsByByte(self.names[start:start + 8])
                     for start in range(0, max(len(self.names), 1), 8))


class _FieldsByByte(dict[int, tuple[str, ...]]):
    """The names of up to eight fields that each value of a byte of a mask stands for,
    each worked out when first met (at most 256): ``score KEY`` reads one profile and
    needs a few of them, not every entry of every model's tables."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names

    def __missing__(self, byte: int) -> tuple[str, ...]:
        if not 0 <= byte < 1 << len(self.names):  # a bit past the fields: a broken entry
            raise KeyError(byte)
        found = self[byte] = tuple(n for bit, n in enumerate(self.names) if byte >> bit & 1)
        return found


_new = object.__new__
_set = object.__setattr__


def _encode_value(kind: Any, value: Any, strings: dict[str, str]) -> Any:
    if value is None:
        return None
    if isinstance(kind, _Codec):
        return kind.encode(value, strings)
    if kind is not None:  # an enumeration: its value, checked to be a member of that one
        if type(value) is not kind:
            _refuse_kind(value, kind)
        return value._value_
    return _encode_plain(value, strings)


def _encode_plain(value: Any, strings: dict[str, str]) -> Any:
    if type(value) is str:
        # the same text stored once per entry: pickle refers back to it (sources recur)
        return strings.setdefault(value, value)
    if type(value) in _PLAIN:
        return value
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return value
    raise TypeError(f"a {type(value).__name__} the cache does not store")


# what either encoder raises for a value it will not store (``put`` then skips the profile)
def _refuse_kind(value: Any, expected: type) -> NoReturn:
    raise TypeError(f"{type(value).__name__} where {expected.__name__} was expected")


def _refuse_shape(model: type) -> NoReturn:
    raise TypeError(f"a {model.__name__} holding what its fields do not say")


def _kind(annotation: Any, codecs: dict[type, _Codec]) -> Any:
    """What a field holds: a model's codec, an enumeration class, or None for plain values
    (text, numbers, booleans, dates, a mapping of text)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        # X | None: what X holds (None is stored as itself)
        found = {_kind(a, codecs) for a in typing.get_args(annotation) if a is not type(None)}
        if len(found) != 1:
            raise TypeError(f"the cache cannot tell the kinds of {annotation!r} apart")
        return found.pop()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _codec_of(annotation, codecs)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    return None


def _codec_of(model: type[BaseModel], codecs: dict[type, _Codec]) -> _Codec:
    if model not in codecs:
        names = tuple(model.model_fields)
        if not all(n.isidentifier() for n in names):
            raise TypeError(f"{model.__name__} has a field not named as an identifier")
        kinds = tuple(_kind(f.annotation, codecs) for f in model.model_fields.values())
        codecs[model] = _Codec(model, names, kinds)
    return codecs[model]


@cache
def _profile_codec() -> _Codec:
    return _codec_of(Profile, {})


# profiles read back before ``loads`` compiles its decoders (``_Codec.compiled``), and
# stored before ``dumps`` compiles its encoders: about what the compiling costs, at some 70
# microseconds saved per profile read and more per profile stored
COMPILE_AFTER = 100
_loaded = 0
_dumped = 0


def dumps(profile: Profile) -> bytes:
    """The profile as nested tuples of plain values, pickled and compressed."""
    global _dumped
    codec = _profile_codec()
    _dumped += 1
    data = (codec.compiled_encode if _dumped > COMPILE_AFTER else codec.encode)(profile, {})
    return zlib.compress(pickle.dumps(data, pickle.HIGHEST_PROTOCOL), 1)


def loads(data: bytes) -> Profile:
    global _loaded
    plain = pickle.loads(zlib.decompress(data))
    if type(plain) is not tuple:
        raise TypeError(f"the entry holds a {type(plain).__name__}, not a profile's tuple")
    codec = _profile_codec()
    _loaded += 1
    profile = (codec.compiled if _loaded > COMPILE_AFTER else codec.decode)(plain)
    assert type(profile) is Profile
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

    @cached_property
    def _seed(self) -> Any:
        # what every key starts with, hashed once and copied for each text. SHA-256, as
        # the processor computes it where it can: 6 microseconds for a 7 kB profile
        # where BLAKE2b took 13, a cost that filling and reading the cache pay alike
        h = hashlib.sha256(_FORMAT)
        h.update(code_fingerprint().encode())
        return h

    def key(self, text: str) -> bytes:
        # a miss is followed by a put of the same text: its digest is taken once
        if text is self._last[0]:
            return self._last[1]
        h = self._seed.copy()
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

    def __enter__(self) -> ProfileCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
