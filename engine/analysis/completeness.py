"""How much of what the rules read each profile knows, and why the rest is unknown.

A fact left out of a profile is unknown, and the rules treat unknown as "no
evidence". That is honest only if unknown means *not knowable*: so a profile
lists each field it leaves unknown under ``unknown:`` with the reason, and this
report shows, per profile, the fields the rules read, how many are known, and
each unknown field with its reason (or the absence of one).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import flatten
from ..loader import LoadedProfile
from ..results import _Out
from ..rules import RuleSet


@dataclass(frozen=True, slots=True)
class UnknownField(_Out):
    field: str
    reason: str | None  # None: the profile does not say why the fact is unknown


@dataclass(frozen=True, slots=True)
class ProfileCompleteness(_Out):
    profile: str
    read: int  # fields the rules read
    known: int
    share: float  # known / read, two decimals
    unknown: tuple[UnknownField, ...]

    @property
    def unexplained(self) -> tuple[UnknownField, ...]:
        return tuple(u for u in self.unknown if u.reason is None)


@dataclass(frozen=True, slots=True)
class CompletenessReport(_Out):
    profiles: tuple[ProfileCompleteness, ...]


def completeness(ruleset: RuleSet, loaded: list[LoadedProfile]) -> CompletenessReport:
    read = [spec.path for spec in ruleset.fields_read]
    out = []
    for lp in sorted(loaded, key=lambda lp: lp.profile.key):
        known = flatten(lp.profile)
        reasons = lp.profile.unknown
        unknown = tuple(UnknownField(path, reasons.get(path)) for path in read if path not in known)
        n_known = len(read) - len(unknown)
        share = round(n_known / len(read), 2) if read else 1.0
        out.append(ProfileCompleteness(lp.profile.key, len(read), n_known, share, unknown))
    return CompletenessReport(tuple(out))


def completeness_text(report: CompletenessReport, minimum: float | None = None) -> str:
    from tabulate import tabulate

    rows = []
    for p in report.profiles:
        # the reasons are in the JSON and the profile; here, what still needs one
        silent = ", ".join(u.field for u in p.unexplained)
        flag = "" if minimum is None or p.share >= minimum else " *"
        rows.append([p.profile, p.read, p.known, f"{p.share:.0%}{flag}", len(p.unknown),
                     silent or "-"])
    from ..render import safe_cells

    text = tabulate(safe_cells(rows),
                    ["profile", "read", "known", "share", "unknown", "unknown, no reason"],
                    tablefmt="simple", disable_numparse=True,
                    maxcolwidths=[None, None, None, None, None, 40])
    total = len(report.profiles)
    below = [p for p in report.profiles if minimum is not None and p.share < minimum]
    text += f"\n{total} profiles"
    if minimum is not None:
        text += f"; {len(below)} below {minimum:.0%} (marked *)"
    return text + "\n"
