"""Writing test fixtures as YAML (ruamel.yaml, the same library that reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def dump(data: Any, path: Path) -> None:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.representer.ignore_aliases = lambda *_: True  # latticework refuses aliases
    with path.open("w", encoding="utf-8") as fh:
        y.dump(data, fh)
