"""The installed package's version, as reports and exports record it."""

from __future__ import annotations


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    try:
        return version("latticework")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"
