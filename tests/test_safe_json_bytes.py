"""Streamed records are made safe on their UTF-8 bytes: always exactly what
``render.safe_json`` makes of the text."""

from __future__ import annotations

import json

from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from engine.render import safe_json
from engine.streaming import _safe_json_bytes

# the characters safe_json escapes, their neighbours, and the look-alikes whose UTF-8
# shares their first bytes (en dash, ellipsis, "≥", "§", no-break space)
_NEAR = "\x7e\x7f\x80\x9f\xa0\xa7\u2013\u2026\u2027\u2028\u2029\u202e\u202f\u2065\u2066\u2069\u206a\u2265"


@given(st.lists(st.one_of(st.sampled_from(_NEAR), st.characters(blacklist_categories=["Cs"]))))
@example(list("plain ascii"))
@example(list("rule: ≥ 40 – see §3"))
@example(list("hidden \u202e override"))
def test_bytes_are_made_safe_as_the_text_is(chars):
    data = json.dumps({"note": "".join(chars)}, ensure_ascii=False).encode()
    assert _safe_json_bytes(data) == safe_json(data.decode()).encode()
