"""The names `engine` re-exports: the list linters read is the list that resolves."""

from __future__ import annotations

import engine


def test_every_public_name_resolves_and_none_is_left_out():
    assert engine.__all__ == sorted(engine._EXPORTS)
    for name in engine.__all__:
        assert getattr(engine, name).__name__ == name
