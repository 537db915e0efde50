"""The two libyaml bindings read every file alike.

Most files are read by PyYAML's binding (faster), the rest and every file with a
problem by ruamel's, whose older libyaml decides what is valid and how a problem is
worded. Both must give the same data, the same line for every path and the same error.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from engine import bundled_dir
from engine import yamlevents
from engine.errors import LoadError
from engine.yamlscalars import shared_reader
from engine.yamlsource import Document
from engine.yamlsource import load_document

CASES = Path(__file__).parent / "cases"


def _read(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Document | LoadError:
    reader = shared_reader()
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(reader, "fast_kinds", None)
        try:
            return load_document("f.yaml", text)
        except LoadError as exc:
            return exc


def _same(text: str, monkeypatch: pytest.MonkeyPatch) -> Document | LoadError:
    fast, exact = _read(text, True, monkeypatch), _read(text, False, monkeypatch)
    if isinstance(exact, LoadError):
        assert isinstance(fast, LoadError)
        assert (fast.code, fast.line, fast.message) == (exact.code, exact.line, exact.message)
    else:
        assert isinstance(fast, Document)
        assert fast.data == exact.data and fast.lines == exact.lines
    return exact


def test_the_fast_parser_reads_the_profiles():
    # else the speed-up is lost without a word: no bundled profile needs ruamel's
    for path in sorted(bundled_dir("profiles").glob("*.yaml")):
        found = shared_reader().open_fast(path.read_text())
        assert found is not None, path
        found[1]()


def test_every_bundled_and_test_file_reads_alike(monkeypatch):
    paths = [*bundled_dir("profiles").glob("*.yaml"), *bundled_dir("rules").rglob("*.yaml"),
             *CASES.rglob("*.yaml")]
    assert len(paths) > 150
    for path in sorted(paths):
        _same(path.read_text(), monkeypatch)


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",                       # duplicate key, found by the fast parser
    "a: &x 1\nb: *x\n",                   # alias
    "a: &x 1\nb: &x 2\n",                 # anchor twice
    "a: 1\n---\nb: 2\n",                  # two documents
    "? x\n? x\n",                         # duplicate explicit key
    "a:\n  b: c\n d: e\n",                # syntax error
    "a: 'quoted\nb: c\n",                 # quote left open
    'a: "\\\'x"\n',                        # an escape libyaml 0.2 refuses
    "- " * 101 + "x\n",                   # too deep
    "x: {a:b}\n",                         # ':' in a flow scalar: 0.2 accepts it
    "x: [a?b]\n",                         # '?' in a flow scalar: 0.2 accepts it
    "%YAML 1.2\n---\na: 1\n",             # a directive
    "a: !!int x\n",                       # tags
])
def test_a_problem_is_reported_as_ruamels_libyaml_reports_it(text, monkeypatch):
    _same(text, monkeypatch)


def test_a_colon_in_a_flow_scalar_stays_a_syntax_error(monkeypatch):
    found = _same("x: {a:b}\n", monkeypatch)
    assert isinstance(found, LoadError) and found.code == "yaml-syntax"


def test_the_line_of_every_path(monkeypatch):
    text = "a:\n  - x\n  - b: 1\n    c:\n      - 2\n      - d: e\nf: g\n"
    doc = _same(text, monkeypatch)
    assert isinstance(doc, Document)
    assert doc.lines == {
        (): 1, ("a",): 1, ("a", 0): 2, ("a", 1): 3, ("a", 1, "b"): 3, ("a", 1, "c"): 4,
        ("a", 1, "c", 0): 5, ("a", 1, "c", 1): 6, ("a", 1, "c", 1, "d"): 6, ("f",): 7,
    }
    assert doc.line_of(("a", 1, "c", 1, "nowhere")) == 6


# --- numbers and dates built without ruamel's constructor -------------------------------------

SIMPLE_FORMS = st.one_of(
    st.tuples(st.just("int"), st.builds(lambda sign, n: f"{sign}{n}",
                                        st.sampled_from(["", "+", "-"]), st.integers(0, 10**30))),
    st.tuples(st.just("float"), st.builds(
        lambda sign, whole, frac: f"{sign}{whole}.{frac}", st.sampled_from(["", "+", "-"]),
        st.integers(0, 10**20), st.from_regex(r"[0-9]{1,25}", fullmatch=True))),
    st.tuples(st.just("timestamp"), st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)),
    st.tuples(st.sampled_from(["int", "float", "timestamp"]),
              st.sampled_from(["0", "-0", "+0", "00", "012", "0.0", "-0.0", "1.", ".5", "1e3",
                               "1_000", "0x1f", "0o17", "2021-02-29", "2024-02-29", "0000-01-01",
                               "2021-13-01", "2021-00-10", "9999-12-31"])),
)


def _ruamel(tag: str, value: str):
    from ruamel.yaml.nodes import ScalarNode

    try:
        return shared_reader().construct(ScalarNode(tag, value))
    except Exception as exc:  # noqa: BLE001 - compared as a refusal
        return ("refused", type(exc).__name__)


@settings(max_examples=500, deadline=None)
@given(SIMPLE_FORMS)
def test_numbers_and_dates_built_directly_are_what_ruamel_builds(form):
    kind, value = form
    tag = f"tag:yaml.org,2002:{kind}"
    matches, build = yamlevents._SIMPLE[tag]
    want = _ruamel(tag, value)
    if not matches(value):
        return  # ruamel's constructor builds it
    try:
        got = build(value)
    except ValueError:
        # the direct way refuses only what ruamel refuses too, and ruamel's words are kept
        assert isinstance(want, tuple) and want[0] == "refused"
        return
    assert type(got) is type(want) and got == want
    if kind == "float":
        assert math.copysign(1, got) == math.copysign(1, want)
