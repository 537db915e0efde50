"""The quick reader (yaml-rs) gives a profile's data only where it reads the text as the
full reader (libyaml's events, YAML 1.2 as ruamel.yaml resolves it) does.

Where the quick reader declines, or the profile it read has any problem, the full
reader reads the text again: so a profile loads to the same model, or fails with the
same errors at the same lines, whichever reader is used.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from engine import bundled_dir
from engine import loader
from engine import yamlquick
from engine.api import Engine
from engine.catalog import Catalog
from engine.errors import LoadError
from engine.errors import LoadErrors
from engine.loader import load_profile
from engine.yamlquick import quick_data
from engine.yamlsource import MAX_DEPTH
from engine.yamlsource import load_document

CASES = Path(__file__).parent / "cases" / "profiles"


def _typed(value: Any) -> Any:
    """The data with every scalar's type beside it: 1, 1.0 and True are not alike here."""
    if type(value) is dict:
        return {_typed(k): _typed(v) for k, v in value.items()}
    if type(value) is list:
        return [_typed(v) for v in value]
    if type(value) is float and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def _full(text: str) -> Any:
    try:
        return load_document(Path("f.yaml"), text).data
    except LoadError as exc:
        return exc


def _check(text: str) -> Any:
    """The quick reader's data, which must be the full reader's whenever it gives any."""
    quick = quick_data(text)
    if quick is not None:
        full = _full(text)
        assert not isinstance(full, LoadError), (text, full)
        assert _typed(quick) == _typed(full), text
    return quick


def test_the_quick_reader_reads_nearly_every_bundled_profile():
    # else the speed-up is lost without a word
    paths = sorted(bundled_dir("profiles").glob("*.yaml"))
    read = [path for path in paths if _check(path.read_text(encoding="utf-8")) is not None]
    assert len(read) >= 0.95 * len(paths), sorted(set(paths) - set(read))


def test_every_test_file_reads_alike():
    paths = [*CASES.rglob("*.yaml"), *bundled_dir("rules").rglob("*.yaml")]
    inputs = [yaml.safe_load(p.read_text(encoding="utf-8")).get("input") for p in CASES.glob("*")]
    texts = [p.read_text(encoding="utf-8") for p in paths] + [t for t in inputs if t]
    assert any(_check(text) is not None for text in texts)  # not declined wholesale


# --- what the quick reader leaves to the full one ---------------------------------------------

@pytest.mark.parametrize("text", [
    "a: _3\n", "a: 6E_9\n", "a: .0e17\n", "a: 3e4_\n",     # numbers to yaml-rs, text to YAML 1.2
    "a: -_\n",                                            # refused by the full reader
    "a: 2026-02-30\n", "a: '2026-02-30'\n",               # no date: refused if plain
    "a: 2020.\n", "a: 1e5\n", "a: .inf\n", "a: 0x1F\n",   # forms not checked alike
    "a: " + "7" * 4301 + "\n", "a: +" + "7" * 4300 + "\n",  # too long for int()
    "2022: x\n", "true: x\n", "_3: x\n", "<<: x\n",       # keys that are not plain text
    "\ufeffa: 1\n", "a: \x85x\n", "a: \x07\n", "a:\tb\n", "a: b\r\n", "a: \u2028\n",
    "a: 1\n---\nb: 2\n", "%YAML 1.2\n---\na: 1\n", "--- \na: 1\n",
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "? a\n: 1\n", "a: [1]\n", "a: {b: 1}\n",
    "a: |2\n   x\n", "a: > # c\n  x\n",
    "a:\n- - x\n",
    "a:\n" + " " * MAX_DEPTH + "b: 1\n",
    "- x\n", "x\n", "", "# only a comment\n",
])
def test_the_quick_reader_declines(text):
    assert _check(text) is None


def test_texts_that_only_look_odd_are_read_quickly():
    # the declining is narrow enough to keep real notes: the figures, dates, quotes and
    # folded text that profiles carry
    for text in ["a: 'Transport & Environment'\n", "a: see 2017-2021 figures\n",
                 "a: 2017-2021\n", "a: >-\n  China's share (2023)\n  12)\n", "a: 12:30:00\n",
                 "a: \"x: y\"\nb: '2026'\nc: 2026-12-10\nd: -3.5\ne: ~\nf: 'true'\n",
                 "a:\n  - 1\n  - b: 0.25\n"]:
        assert _check(text) is not None, text


def test_deep_nesting_never_reaches_yaml_rs():
    # yaml-rs recurses: 100,000 lists nested on one line end the process, so the text
    # must be declined before the parse (in a child, so a crash fails the test cleanly)
    program = (
        "from engine.yamlquick import quick_data\n"
        "print(quick_data('a:\\n' + '- ' * 100_000 + 'x\\n'),"
        " quick_data('a:\\n' + '-  ' * 100_000 + 'x\\n'))\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout) == (0, "None None\n"), done.stderr[-2000:]


# --- generated texts ----------------------------------------------------------------------------

# scalars where the two readers might part: numbers, dates and times in many forms, the
# words YAML 1.1 and 1.2 type, escapes, characters libyaml refuses or breaks lines at
SCALARS = [
    "0", "-0", "+1", "007", "08", "1_000", "_3", "3_", "0b101", "0o17", "0x1F", "0x_1F",
    "1.5", "-2.25", "1.", ".5", "+.5", "1e5", "1E-5", "6E_9", ".0e17", "1.0e400", "2020.",
    ".inf", "-.Inf", ".NaN", "nan", "inf", "12345678901234567890", "1" + "0" * 40, "-0.0",
    "0.1000000000000000055511151231257827", "9" * 400 + ".5",
    "2026-12-10", "2026-1-5", "2026-02-30", "2026-12-10T10:00:00Z", "2026-12-10 10:00:00",
    "12:30:00", "1:20", "true", "True", "TRUE", "tRUE", "yes", "No", "on", "y", "~",
    "null", "Null", "NULL", "nULL", "", "-", "-_", "._", "<<", "=", "@x", "`x", "%x",
    "a b", "a #b", "a#b", "x:y", "x: y", "'", '"', "\\", "\\q", "\\x41", "\\u00e9", "\\N",
    "é", "—", "\u00a0", "\u2028", "\x85", "\t", "\x07", "\ufeff", "&a", "*a", "!a", "?",
    "[1]", "{a: 1}", "- x", "-1", "- -", "2017-2021", "12)", "(2023)",
]
# and the forms profiles are made of, so that many texts are read quickly
MILD = ["x", "note", "Tokyo", "12", "-3.5", "0.25", "2026-12-10", "1999-01-31", "true",
        "false", "null", "2022", "défense", "a-b", "x,", "3.8 %"]
WORDS = st.sampled_from(SCALARS)
TEXT = st.lists(st.one_of(st.sampled_from(MILD), st.sampled_from(MILD), WORDS,
                          st.text(alphabet="0123456789.+-_eEx:abT #'\"\\é", max_size=6)),
                min_size=1, max_size=3).map(" ".join)


def _double_quoted(text: str, raw_escapes: bool) -> str:
    if raw_escapes:  # the escapes as written: some valid, some not
        return '"' + text.replace('"', '\\"') + '"'
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def scalar_texts(draw: st.DrawFn, indent: int) -> str:
    """One value as a file holds it, after 'key:' (its own line break included)."""
    text = draw(TEXT)
    style = draw(st.sampled_from(["plain", "plain", "single", "double", "raw-double",
                                  "block", "folded-lines"]))
    pad = " " * (indent + 2)
    if style == "plain":
        return f" {text}\n"
    if style == "single":
        return " '" + text.replace("'", "''") + "'\n"
    if style in ("double", "raw-double"):
        return " " + _double_quoted(text, style == "raw-double") + "\n"
    if style == "block":
        header = draw(st.sampled_from(["|", "|-", "|+", ">", ">-", ">+", "|2", ">-1"]))
        lines = draw(st.lists(TEXT, min_size=1, max_size=3))
        blank = draw(st.sampled_from(["", "\n"]))
        return f" {header}\n" + "".join(f"{pad}{line}\n" for line in lines) + blank
    lines = draw(st.lists(TEXT, min_size=2, max_size=3))  # a plain scalar over lines
    return f" {lines[0]}\n" + "".join(f"{pad}{line}\n" for line in lines[1:])


KEYS = st.one_of(st.sampled_from(["value", "note", "source", "tier", "a_b", "es11_1_vote"]),
                 WORDS.filter(lambda w: w and "\n" not in w))


@st.composite
def documents(draw: st.DrawFn, indent: int = 0, depth: int = 0) -> str:
    """A block mapping of generated keys and values, nested up to three levels."""
    pad = " " * indent
    out = ""
    keys = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
    for key in keys:
        shown = key if draw(st.booleans()) else "'" + key.replace("'", "''") + "'"
        kind = draw(st.sampled_from(["scalar", "scalar", "map", "list"]) if depth < 2
                    else st.just("scalar"))
        if kind == "scalar":
            out += f"{pad}{shown}:" + draw(scalar_texts(indent))
        elif kind == "map":
            out += f"{pad}{shown}:\n" + draw(documents(indent + 2, depth + 1))
        else:
            out += f"{pad}{shown}:\n"
            for _ in range(draw(st.integers(1, 3))):
                out += f"{pad}  -" + draw(scalar_texts(indent + 2))
    return out


@settings(deadline=None)
@given(documents())
def test_generated_texts_read_alike(text):
    _check(text)


@settings(deadline=None)
@given(documents(), st.data())
def test_generated_texts_read_alike_after_a_change(text, data):
    # one character put in, or taken out: most such texts are no longer valid YAML, and
    # the quick reader must not take any that the full reader refuses
    at = data.draw(st.integers(0, len(text)))
    if data.draw(st.booleans()):
        text = text[:at] + data.draw(st.sampled_from(list(" \n-:'\"#&*!?|>[]{}%\\\t_.0e"))) \
            + text[at:]
    else:
        text = text[:at] + text[at + 1:]
    _check(text)


# --- profiles: the same model, or the same errors -----------------------------------------------

def _load(path: Path, catalog: Catalog, quick: bool,
          monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        if not quick:
            m.setattr(yamlquick, "rs_loads", None)
        try:
            return load_profile(path, catalog).profile.model_dump()
        except LoadErrors as many:
            return [(e.code, e.line, e.message) for e in many.errors]
        except LoadError as one:
            return [(one.code, one.line, one.message)]


def test_profiles_load_alike_whichever_reader_reads_them(engine: Engine, tmp_path, monkeypatch):
    catalog = engine.ruleset.catalog
    paths = sorted(bundled_dir("profiles").glob("*.yaml"))
    for case in sorted(CASES.glob("*.yaml")):
        given_text = yaml.safe_load(case.read_text(encoding="utf-8")).get("input")
        if isinstance(given_text, str):
            path = tmp_path / f"{case.stem}.yaml"
            path.write_text(given_text, encoding="utf-8")
            paths.append(path)
    failed = 0
    for path in paths:
        quick = _load(path, catalog, True, monkeypatch)
        assert quick == _load(path, catalog, False, monkeypatch), path
        failed += isinstance(quick, list)
    assert failed >= 20  # the cases' errors were compared too


def test_a_profile_read_quickly_is_not_parsed_again(engine: Engine, monkeypatch):
    def refuse(*_: Any) -> Any:
        raise AssertionError("the full reader was asked")

    monkeypatch.setattr(loader, "load_document", refuse)
    loaded = load_profile(bundled_dir("profiles") / "japan@2022.yaml", engine.ruleset.catalog)
    assert loaded.profile.key == "japan@2022"


def test_a_problem_in_a_profile_read_quickly_names_its_line(engine: Engine, tmp_path):
    text = (bundled_dir("profiles") / "japan@2022.yaml").read_text(encoding="utf-8")
    assert quick_data(text) is not None
    path = tmp_path / "japan@2022.yaml"
    # a citation the catalog does not know: found after the quick read, on the model
    path.write_text(text.replace("source: ", "source: nowhere#", 1), encoding="utf-8")
    with pytest.raises((LoadError, LoadErrors)) as caught:
        load_profile(path, engine.ruleset.catalog)
    errors = caught.value.errors if isinstance(caught.value, LoadErrors) else [caught.value]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "source: " in row)
    assert [e.line for e in errors] == [line]


def test_without_yaml_rs_the_full_reader_reads_every_file(monkeypatch):
    monkeypatch.setattr(yamlquick, "rs_loads", None)
    assert quick_data("a: 1\n") is None


def test_integers_longer_than_the_process_allows_are_left_to_the_full_reader():
    text = "a: " + "1" * 2000 + "\n"
    assert _check(text) is not None
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        assert _check(text) is None
    finally:
        sys.set_int_max_str_digits(before)


def test_a_text_of_many_new_tokens_is_left_to_the_full_reader():
    # each token neither reader has typed alike before costs a parse of its own: past
    # a few dozen in one text, reading it whole with the full reader is sooner
    few = "a:\n" + "".join(f"- {i}-few{i}\n" for i in range(10))
    many = "a:\n" + "".join(f"- {i}-many{i}\n" for i in range(200))
    assert _check(few) is not None
    assert _check(many) is None
    assert _full(many) == {"a": [f"{i}-many{i}" for i in range(200)]}


def test_a_panic_in_yaml_rs_leaves_the_text_to_the_full_reader(monkeypatch):
    class PanicException(BaseException):  # as pyo3 names it
        pass

    def panics(*_: Any, **__: Any) -> Any:
        raise PanicException("a Rust panic")

    monkeypatch.setattr(yamlquick, "rs_loads", panics)
    assert quick_data("a: 1\n") is None

    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(yamlquick, "rs_loads", interrupted)
    with pytest.raises(KeyboardInterrupt):
        quick_data("a: 1\n")
