"""A cache of loaded rule sets on disk, so that one command does not re-read 21 YAML files.

Loading and checking the bundled rules costs more than scoring a profile: a command that
scores one profile (``latticework score KEY``) spends most of its own time there. A rule set
that loaded without errors is pickled into a per-user cache directory, one file per rules
directory, under a key made of the bytes of every file in that directory and its
``sources/`` folder, the engine's own source files and the versions of Python and
pydantic. A file is only ever used when its key matches the key computed afresh from the
files now on disk, so an edit to any rule, catalog or model file, or to the engine,
loads the rules again. Anything that goes wrong with the cache (unreadable, corrupt, a
read-only disk) is ignored and the rules are loaded as if there were no cache; a set that
fails to load is never cached, so its errors are reported every time.

``LATTICEWORK_NO_CACHE`` (any non-empty value) turns the cache off;
``LATTICEWORK_CACHE_DIR`` moves it (default ``$XDG_CACHE_HOME/latticework``, else
``~/.cache/latticework``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rules import RuleSet

NO_CACHE_ENV = "LATTICEWORK_NO_CACHE"
CACHE_DIR_ENV = "LATTICEWORK_CACHE_DIR"
_FORMAT = b"latticework-ruleset-cache-1"
_ENGINE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """Where rule sets are cached, or None when the cache is turned off."""
    if os.environ.get(NO_CACHE_ENV):
        return None
    chosen = os.environ.get(CACHE_DIR_ENV)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "latticework"


def _files(directory: Path) -> list[Path]:
    sources = directory / "sources"
    found = [p for p in directory.iterdir() if p.is_file()]
    if sources.is_dir():
        found += [p for p in sources.iterdir() if p.is_file()]
    return sorted(found)


@cache
def code_fingerprint() -> str:
    """A digest of the engine's own source files and the versions of Python, pydantic and
    pydantic-core. Raises OSError if a file cannot be read.

    The loader's checks and the pickled classes live in the engine's modules: a changed
    module (a source checkout between releases) must not revive an old cache entry, and
    neither must another pydantic, whose models are pickled. The package's own version
    adds nothing to the sources, and reading it from the installed metadata cost more
    than the rest of the key.
    """
    import pydantic
    import pydantic_core

    h = hashlib.sha256(_FORMAT)
    for part in (sys.version, pydantic.VERSION, pydantic_core.__version__):
        h.update(part.encode() + b"\0")
    for path in sorted(_ENGINE.glob("*.py")):
        data = path.read_bytes()
        h.update(f"engine:{path.name}:{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def cache_key(directory: Path) -> str:
    """A digest of everything a loaded rule set depends on. Raises OSError if a file
    cannot be read (the caller then loads without the cache)."""
    h = hashlib.sha256(_FORMAT)
    h.update(f"{directory}\0{code_fingerprint()}\0".encode())
    for path in _files(directory):
        data = path.read_bytes()
        h.update(f"rules:{path.name}:{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _cache_file(root: Path, directory: Path) -> Path:
    # one file per rules directory: editing the rules replaces the entry, never adds one
    where = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:24]
    return root / f"ruleset-{where}.pickle"


def load_cached(directory: Path, load: Callable[[Path], RuleSet] | None = None) -> RuleSet:
    """``load(directory)`` (default :func:`~engine.rule_loader.load_ruleset`), or the same
    rule set read back from the cache."""
    from .rules import RuleSet

    if load is None:
        load = _load_ruleset
    root = cache_dir()
    if root is None or not directory.is_dir():
        return load(directory)  # a missing directory is reported by the loader
    try:
        key = cache_key(directory)
        target = _cache_file(root, directory)
    except OSError:
        return load(directory)
    try:
        stored_key, ruleset = pickle.loads(target.read_bytes())
        if stored_key == key and isinstance(ruleset, RuleSet):
            return ruleset
    except Exception:  # noqa: BLE001 - no cache, a stale format, a torn file: load afresh
        pass
    ruleset = load(directory)
    try:
        # computed now so that the cached copy carries them
        ruleset.digest, ruleset.group_checks, ruleset.fields_read, ruleset.durable_rulesets  # noqa: B018
        _write(target, pickle.dumps((key, ruleset), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass
    return ruleset


def _load_ruleset(directory: Path) -> RuleSet:
    # the loader and its file models are imported only when the cache cannot answer
    from .rule_loader import load_ruleset

    return load_ruleset(directory)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ruleset-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)  # readers see the old file or the new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
