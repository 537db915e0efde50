"""Evaluating profiles: which rules fire.

Two evaluators answer the same question and must agree exactly:

* :class:`DurableEvaluator`, the production path, runs the compiled ruleset in
  durable_rules' C core, every profile asserted into one session and retracted from it
  (:class:`HostDurableEvaluator` runs it through durable's Python ``Host``: a
  cross-check and a benchmark floor);
* :class:`ReferenceEvaluator` runs the same normal-form conditions as Python
  generated and compiled once per rule set; it cross-checks every profile and serves
  differential tests and fast sweeps.

Both take the *fact* of a profile (``fields.flatten``: known values by dotted
path, unknown fields absent) and return the ids of the rules that fired.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import weakref
from collections.abc import Callable
from functools import cache
from operator import getitem
from typing import Any
from typing import Protocol

from .compiler import SENTINEL
from .compiler import text_token
from .errors import DurableEngineError
from .errors import EngineClosedError
from .reference import FlatFact
from .reference import ReferenceEvaluator
from .rules import RuleSet


class Evaluator(Protocol):
    name: str

    def fired(self, fact: FlatFact) -> frozenset[str]: ...

    def close(self) -> None: ...


# --- durable_rules ----------------------------------------------------------------------------

_names = itertools.count(1)

# durable_rules' own codes for a fact it did not take (rules.h): no rule matched it, or this
# session has seen it already
_NOT_HANDLED, _OBSERVED = 1, 2


def _keys(ruleset: RuleSet) -> tuple[tuple[str, str, bool], ...]:
    return tuple((spec.path, spec.durable_key, spec.kind == "text") for spec in ruleset.fields_read)


def _message(keys: tuple[tuple[str, str, bool], ...], fact: FlatFact) -> dict[str, Any]:
    """The fact as durable_rules gets it: flat, lean, with the discriminator."""
    message: dict[str, Any] = {"kind": "profile"}
    for path, key, is_text in keys:
        if path in fact:
            # durable_rules keeps string lengths in 16 bits: text goes as its digest
            message[key] = text_token(fact[path]) if is_text else fact[path]
    return message


class _Fragments(dict[Any, str]):
    """One field's JSON fragments (``,"f12":"high"``) by value; ``None`` (the field is
    unknown) writes nothing. A value not listed (any number, a text, a value no
    enumeration names) is written when it comes, by ``write``, and not kept."""

    def __init__(self, prefix: str, write: Callable[[Any], str]) -> None:
        super().__init__({None: ""})
        self._prefix, self._write = prefix, write

    def __missing__(self, value: Any) -> str:
        return self._prefix + self._write(value)


def _number_writer(encode: Callable[[Any], str]) -> Callable[[Any], str]:
    """A number as ``json`` writes it. ``JSONEncoder.encode`` of a lone scalar builds an
    encoder object each time (some 10,000 instructions): a finite float or an int is
    written by its own ``repr``, as ``json`` writes it; anything else by the encoder."""
    int_repr, float_repr = int.__repr__, float.__repr__

    def write(value: Any) -> str:
        kind = type(value)
        if kind is int:
            return int_repr(value)
        if kind is float and value - value == 0.0:  # not inf, not NaN
            return float_repr(value)
        return encode(value)

    return write


def _text_writer(encode: Callable[[Any], str]) -> Callable[[Any], str]:
    # durable_rules keeps string lengths in 16 bits: text goes as its digest
    return lambda value: encode(text_token(value))


class FactWriter:
    """The fact as durable_rules gets it, written straight to JSON text: the very text
    ``json`` writes from :func:`_message` (tests hold the two to the same bytes).

    Building that dict field by field and encoding it cost some 110,000 instructions a
    profile, an eighth of scoring one; here each known field is one lookup of a
    ready-made fragment, all of them in C (``map`` over the field tables), except for
    numbers and texts, which are written as they come. A value no valid fact holds
    but that equals a listed one (``1`` in a true/false field) is written as the
    listed one, which the rules' comparisons take it for in any case.
    """

    def __init__(self, ruleset: RuleSet, encode: Callable[[Any], str]) -> None:
        tables: list[_Fragments] = []
        number = _number_writer(encode)
        writers = {"int": number, "number": number, "text": _text_writer(encode)}
        for spec in ruleset.fields_read:
            table = _Fragments(f',"{spec.durable_key}":', writers.get(spec.kind, encode))
            table.update((v, table[v]) for v in spec.domain)
            tables.append(table)
        self._paths = tuple(spec.path for spec in ruleset.fields_read)
        self._tables = tuple(tables)

    def text(self, fact: FlatFact, sid: str, mid: str) -> str:
        """The fact of session ``sid`` under id ``mid`` (plain decimal strings)."""
        fields = "".join(map(getitem, self._tables, map(fact.get, self._paths)))
        return f'{{"kind":"profile"{fields},"sid":"{sid}","id":"{mid}"}}'

    @staticmethod
    def retraction(sid: str, mid: str) -> str:
        """What retracts that fact again: durable_rules finds a fact by its id alone."""
        return f'{{"sid":"{sid}","id":"{mid}"}}'


def durable_json() -> Callable[[Any], str]:
    """How JSON is written for durable_rules' C core. check_circular off: a fact is flat;
    ensure_ascii off: as durable's Host writes it; no spaces: the fact is written again
    into every firing's action."""
    return json.JSONEncoder(ensure_ascii=False, check_circular=False,
                            separators=(",", ":")).encode


def _locate_compile_error(
    ruleset: RuleSet, definitions: dict[str, dict], exc: Exception,
    create: Callable[[str, dict[str, dict]], Callable[[], None]],
) -> DurableEngineError:
    """durable_rules reports a code, not a rule: compile each rule alone to find it.

    ``create`` builds a one-rule ruleset and returns what deletes it again.
    """
    for rule in ruleset.rules:
        if rule.id not in definitions:
            continue
        try:
            delete = create(f"latticework-probe-{next(_names)}", {rule.id: definitions[rule.id]})
        except Exception as rule_exc:
            where = f"{rule.file}" + (f", line {rule.line}" if rule.line else "")
            return DurableEngineError(
                f"{where}: durable_rules rejected rule '{rule.id}' ({rule_exc})")
        delete()
    return DurableEngineError(f"durable_rules rejected the rule set ({exc})")


class _ActionNames(dict[str, str]):
    """The rule behind each action durable_rules queues, looked up by the action's first
    characters.

    An action is ``{"<rule id>":{"m":<the fact>}}``. Reading the id between its quotes
    took ``str.find``, which parses its arguments the slow way, and a new string hashed
    for the set: some 0.45 microseconds an action, 9 of the 14 microseconds a profile
    that the engine spent around the C core. Here the action's first ``width``
    characters, which hold the opening brace and quote, the longest known id and its
    closing quote, are sliced and looked up; the table gives the rule's own id string,
    which the fired set and the tracer's index then find by identity. A prefix not seen
    yet (a short id is followed by the start of the fact, which differs between
    profiles) is read the long way, and kept only when it names a known rule, so an
    action of an unknown rule is always read in full and reported.
    """

    LIMIT = 4096  # prefixes kept: a few per rule in practice, bounded whatever comes

    def __init__(self, known: frozenset[str]) -> None:
        super().__init__()
        self.known = known
        self.width = 3 + max(map(len, known))

    def learn(self, action: str) -> str:
        name = action[2:action.find('"', 2)]
        if name in self.known and len(self) < self.LIMIT:
            self[action[:self.width]] = name
        return name


class DurableEvaluator:
    """durable_rules' C core, driven directly: one session, one fact at a time.

    durable's Python ``Host`` parses the session state and the whole fact from JSON for
    every firing, wraps each in a closure and a promise and writes the state back; here
    the fact goes in as JSON once per ruleset, the rules that fired are read off the
    action queue by name, and the fact is retracted again. No Python runs as a rule
    action, so no action can fail.

    Every profile is asserted into the same session and retracted once its actions are
    taken. A session of its own per profile would cost durable_rules a fresh session
    state each time: two 4 kB hash indexes zeroed for every rule, some 0.8M
    instructions a profile, more than all the matching.
    """

    name = "durable"

    def __init__(self, ruleset: RuleSet) -> None:
        import durable_rules_engine  # the C core, imported only when durable evaluation is used

        core = self._core = durable_rules_engine
        self._lock = threading.Lock()  # the C core keeps global tables without locks
        self._keys = _keys(ruleset)
        self._encode = durable_json()
        self._writer = FactWriter(ruleset, self._encode)
        self._sessions = itertools.count(1)
        self._sid = str(next(self._sessions))
        self._ids = itertools.count(1)
        self._known = frozenset(r.id for r in ruleset.rules) | {SENTINEL}
        self._names = _ActionNames(self._known)
        handles: list[int] = []
        self._handles = handles
        self._finalizer = weakref.finalize(self, _delete_rulesets, core, handles)
        # as many durable_rules rulesets as keep each within its fixed tables (a profile
        # passing more tests than its matching stack holds corrupts the heap)
        self._ruleset_names: list[str] = []
        base = f"latticework-{ruleset.digest}-{next(_names)}"
        for i, definitions in enumerate(ruleset.durable_rulesets):
            name = f"{base}-{i}"
            try:
                handles.append(core.create_ruleset(name, self._encode(definitions)))
            except Exception as exc:  # the C core raises bare errors with numeric codes
                self.close()
                raise _locate_compile_error(ruleset, definitions, exc, self._probe) from None
            self._ruleset_names.append(name)

    def _probe(self, name: str, definitions: dict[str, dict]) -> Callable[[], None]:
        handle = self._core.create_ruleset(name, self._encode(definitions))
        return lambda: self._core.delete_ruleset(handle)

    def message(self, fact: FlatFact) -> dict[str, Any]:
        return _message(self._keys, fact)

    @property
    def session(self) -> str:
        """The id of the session profiles are asserted into now (for tests and checks)."""
        return self._sid

    def text(self, fact: FlatFact, sid: str, mid: str) -> str:
        """The fact as JSON text, as :meth:`fired` asserts it."""
        return self._writer.text(fact, sid, mid)

    def fired(self, fact: FlatFact) -> frozenset[str]:
        core = self._core
        with self._lock:
            if not self._handles:
                # closed: its rulesets are freed, and no ruleset would fire nothing, silently
                raise EngineClosedError()
            sid, mid = self._sid, str(next(self._ids))
            # sid and id are plain decimal strings, never escaped
            text = self._writer.text(fact, sid, mid)
            retraction = self._writer.retraction(sid, mid)
            fired: set[str] = set()
            for handle in self._handles:
                try:
                    code, state = core.assert_fact(handle, text)
                    if code == 0:
                        self._drain(handle, state, fired)
                    core.retract_fact(handle, retraction)
                except Exception as exc:
                    # the session may be broken: later profiles go to a new one, and this
                    # one is never deleted (deleting the session of an assertion that
                    # failed, error 303 say, corrupts the heap or segfaults)
                    self._sid = str(next(self._sessions))
                    raise DurableEngineError(
                        f"durable_rules failed on the profile ({exc})") from None
                if code:
                    what = {_NOT_HANDLED: "no rule matched it",
                            _OBSERVED: "it was seen before"}.get(code, f"code {code}")
                    raise DurableEngineError(f"durable_rules did not take the profile ({what})")
                # each ruleset has its sentinel: silence means it did not evaluate the profile
                if SENTINEL not in fired:
                    raise DurableEngineError(
                        "durable_rules did not evaluate the profile (sentinel silent)")
                fired.remove(SENTINEL)
        if not fired <= self._known:
            raise DurableEngineError(
                f"durable_rules fired rules it was not given: {sorted(fired - self._known)}")
        # "$or" fires a rule once per true branch: a set keeps one firing per rule
        return frozenset(fired)

    def facts_held(self) -> list[str]:
        """The facts durable_rules holds in the current session of each ruleset, as JSON:
        ``"[]"`` each between profiles. The session must have seen a profile (durable_rules
        makes it at the first assertion, and knows no session before)."""
        with self._lock:
            return [self._core.get_facts(handle, self._sid) for handle in self._handles]

    def _drain(self, handle: int, state: int, fired: set[str]) -> None:
        """The rules behind every action the assertion queued, added to ``fired`` as they
        are taken off the queue; the session's state is never read back."""
        core = self._core
        started = core.start_action_for_state(handle, state)
        if not started:
            return
        table = self._names
        get, learn, width = table.get, table.learn, table.width
        add, complete = fired.add, core.complete_and_start_action
        actions = started[1]
        while actions:
            add(get(actions[:width]) or learn(actions))
            actions = complete(handle, state)

    def close(self) -> None:
        self._finalizer()


def _delete_rulesets(core: Any, handles: list[int]) -> None:
    for handle in handles:
        core.delete_ruleset(handle)
    handles.clear()


@cache
def _quiet_host_class() -> type:
    from durable import engine as durable_engine

    class QuietHost(durable_engine.Host):
        """A host without the two timer threads each Host starts and never stops.

        Our rulesets use no timers and run their actions synchronously, so the
        background dispatch loop has nothing to do.
        """

        def _run(self) -> None:
            pass

    return QuietHost


def _quiet_host() -> Any:
    return _quiet_host_class()()


class HostDurableEvaluator:
    """durable_rules through durable's Python ``Host``, as its documentation drives it.

    The production path was this one; it stays as a cross-check of
    :class:`DurableEvaluator` and as the benchmark's ``Host`` floor. Per firing the
    ``Host`` parses the state and the fact from JSON, runs the Python action and writes
    the state back.
    """

    name = "durable-host"

    def __init__(self, ruleset: RuleSet) -> None:
        import durable_rules_engine  # the C core, imported only when durable evaluation is used
        from durable.engine import MessageNotHandledException
        from durable.engine import MessageObservedException

        self._core = durable_rules_engine
        self._refusals = (MessageNotHandledException, MessageObservedException)
        self._lock = threading.Lock()  # the C core keeps global tables without locks
        self._keys = _keys(ruleset)
        self._fired: list[str] = []
        self._sessions = itertools.count(1)
        self._host = _quiet_host()
        handles: list[int] = []
        self._finalizer = weakref.finalize(self, _delete_rulesets, self._core, handles)
        self._ruleset_names: list[str] = []
        base = f"latticework-{ruleset.digest}-{next(_names)}"
        for i, definitions in enumerate(ruleset.durable_rulesets):
            name = f"{base}-{i}"
            try:
                self._host.set_rulesets({name: self._with_actions(definitions)})
            except Exception as exc:  # durable_rules raises bare Exceptions with numeric codes
                self.close()
                raise _locate_compile_error(ruleset, definitions, exc, self._probe) from None
            handles.append(self._host.get_ruleset(name)._handle)
            self._ruleset_names.append(name)

    def _probe(self, name: str, definitions: dict[str, dict]) -> Callable[[], None]:
        probe = _quiet_host()
        probe.set_rulesets({name: self._with_actions(definitions)})
        return lambda: self._core.delete_ruleset(probe.get_ruleset(name)._handle)

    def _with_actions(self, definitions: dict[str, dict]) -> dict[str, dict]:
        # set_rulesets deletes "run" from what it is given, and "run" takes exactly one argument
        out = copy.deepcopy(definitions)
        for rule_id, definition in out.items():
            definition["run"] = self._action(rule_id)
        return out

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        fired = self._fired

        def run(_closure: Any) -> None:
            fired.append(rule_id)

        return run

    def message(self, fact: FlatFact) -> dict[str, Any]:
        return _message(self._keys, fact)

    def fired(self, fact: FlatFact) -> frozenset[str]:
        message = self.message(fact)
        with self._lock:
            sid = str(next(self._sessions))
            message["sid"] = sid
            self._fired.clear()
            for name in self._ruleset_names:
                start = len(self._fired)
                self._assert(name, message, sid)
                # each ruleset has its sentinel: silence means it did not evaluate the profile
                if SENTINEL not in self._fired[start:]:
                    raise DurableEngineError(
                        "durable_rules did not evaluate the profile (sentinel silent)")
            # "$or" fires a rule once per true branch: a set keeps one firing per rule
            fired = frozenset(self._fired)
        return fired - {SENTINEL}

    def _assert(self, name: str, message: dict[str, Any], sid: str) -> None:
        try:
            state = self._host.assert_fact(name, message)
        except self._refusals as exc:
            raise DurableEngineError(f"durable_rules did not take the profile ({exc})") from None
        except Exception as exc:
            # no delete_state here: deleting a session whose assertion failed segfaults
            raise DurableEngineError(f"durable_rules failed on the profile ({exc})") from None
        # the C core holds at most 1,024 live sessions; each profile frees its own
        self._host.delete_state(name, sid)
        if isinstance(state, dict) and "exception" in state:
            raise DurableEngineError(f"a rule action failed: {state['exception']}")

    def close(self) -> None:
        self._finalizer()


EVALUATORS: dict[str, Callable[[RuleSet], Evaluator]] = {
    "durable": DurableEvaluator, "durable-host": HostDurableEvaluator,
    "reference": ReferenceEvaluator}


__all__ = ["DurableEvaluator", "HostDurableEvaluator", "ReferenceEvaluator", "Evaluator", "EVALUATORS"]
