"""Changing a profile's facts by dotted path: what-if questions and calibration.

``apply_changes(profile, {"sanctions.caatsa_status": "waived"})`` returns a new
profile validated exactly like one read from a file; a changed fact loses its
source (it is a hypothesis, not a record) and says so in its note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import LoadError
from ..errors import LoadErrors
from ..fields import field_specs
from ..fields import suggest
from ..profile import Profile
from ..validation import translate
from ..yamlsource import Document

WHAT_IF_NOTE = "hypothetical value (what-if), not a record"


def parse_assignment(text: str, origin: str = "--set") -> tuple[str, Any]:
    """``FIELD=VALUE`` with VALUE read as YAML would read it (true, 40, waived)."""
    from ..yamlsource import load_document

    field, sep, raw = text.partition("=")
    if not sep or not field.strip():
        raise LoadError("bad-assignment", origin, expected="FIELD=VALUE, e.g. "
                        "sanctions.caatsa_status=waived", found=f"'{text}'")
    field = field.strip()
    raw = raw.strip()
    if raw in ("", "~", "null", "unknown"):
        return field, None
    doc = load_document(origin, f"v: {raw}\n")
    return field, doc.data["v"]


def apply_changes(profile: Profile, changes: Mapping[str, Any], origin: str = "--set") -> Profile:
    """A copy of ``profile`` with the facts at the given paths replaced (None: made unknown)."""
    specs = field_specs()
    data = profile.model_dump(mode="python", exclude_none=True)
    for path, value in changes.items():
        if path not in specs:
            close = suggest(path, specs)
            raise LoadError(
                "unknown-field", origin, field=path, detail="no such profile field",
                suggestion=close[0] if close else None,
            )
        if "." not in path:  # an identity field such as region: a bare value
            data[path] = value
            if value is None:
                data.pop(path)
            continue
        section, name = path.split(".")
        part = data.setdefault(section, {})
        if value is None:
            part.pop(name, None)
        else:
            part[name] = {"value": value, "note": WHAT_IF_NOTE}
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise LoadErrors(translate(exc, Document(origin, data, {}), Profile)) from None
