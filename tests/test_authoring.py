"""`profiles new`: a template of every field the rules read, or a copy of another profile
with its facts marked for re-checking; valid and scorable at once, never over a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.errors import display_path
from engine.loader import load_profile

from .helpers import run_cli as run

SOURCE = """\
country: testland
name: Testland
as_of: 2022-07-01
iso3: JPN
commitment:
  tier:
    value: bilateral-treaty
    source: dmdc-troopdata
    note: the mutual defence treaty
  pledge: defence
forces:
  troops_permanent:
    value: 1200
    source: dmdc-troopdata
    confidence: found-in-public-text
    period: "2022"
alignment:
  hedging: none
  defence_spending_gdp:
    value: 1.5
    period: "2022"
unknown:
  dependence.arms_china_share: SIPRI records no deliveries at all in the window
"""




def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    return d


def test_new_profile_from_the_template_loads_lists_every_read_field_and_scores(
        profiles, engine):
    result = run("profiles", "new", "poland@2024", "--profiles", str(profiles))
    assert result.exit_code == 0, result.output
    path = profiles / "poland@2024.yaml"
    assert result.output == f"wrote {path}\n"
    assert set(files(profiles)) == {"poland@2024.yaml"}  # no temporary file left behind

    p = load_profile(path, engine.ruleset.catalog).profile
    assert p.key == "poland@2024"
    assert p.as_of == dt.date(2024, 7, 1)
    assert p.iso3 == "POL"  # so that data sets match it at once
    read = {spec.path for spec in engine.ruleset.fields_read}
    assert "commitment.tier" in read
    assert set(p.unknown) == read - {"commitment.tier"}
    assert all(len(reason.strip()) >= 10 for reason in p.unknown.values())

    scored = engine.score(path)
    assert scored.profile == "poland@2024"
    assert scored.deterrence.base + sum(c.points for c in scored.deterrence.contributions) \
        + scored.deterrence.adjustment == scored.deterrence.score


def test_new_profile_is_found_by_batch(profiles):
    assert run("profiles", "new", "testland@2024", "--profiles", str(profiles)).exit_code == 0
    result = run("batch", "--profiles", str(profiles), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "testland@2024" in result.output


def test_new_profile_from_another_copies_facts_for_rechecking(profiles, engine):
    src = profiles / "testland@2022.yaml"
    src.write_text(SOURCE)
    result = run("profiles", "new", "testland@2024", "--from", "testland@2022",
                 "--profiles", str(profiles))
    assert result.exit_code == 0, result.output
    assert src.read_text() == SOURCE  # the source is not touched
    path = profiles / "testland@2024.yaml"
    p = load_profile(path, engine.ruleset.catalog).profile
    assert p.key == "testland@2024" and p.as_of == dt.date(2024, 7, 1)

    # undated facts are copied, each marked RE-CHECK, any old note kept after it
    tier = p.commitment.tier
    assert tier.value.value == "bilateral-treaty" and tier.source == "dmdc-troopdata"
    assert tier.note == "RE-CHECK for 2024 (copied from testland@2022): the mutual defence treaty"
    assert p.commitment.pledge.value.value == "defence"
    assert p.commitment.pledge.note == "RE-CHECK for 2024 (copied from testland@2022)"
    assert p.alignment.hedging.value.value == "none"
    assert p.alignment.hedging.note.startswith("RE-CHECK for 2024")

    # dated figures of 2022 are not 2024 facts: they move under unknown: with the reason
    assert p.forces.troops_permanent is None
    assert p.alignment.defence_spending_gdp is None
    for field in ("forces.troops_permanent", "alignment.defence_spending_gdp"):
        reason = p.unknown[field]
        assert "testland@2022" in reason and "2022" in reason and "2024" in reason
    # what was unknown stays unknown, with its own reason
    assert p.unknown["dependence.arms_china_share"] == \
        "SIPRI records no deliveries at all in the window"
    assert engine.score(path).profile == "testland@2024"


def test_an_existing_profile_is_never_overwritten(profiles):
    assert run("profiles", "new", "poland@2024", "--profiles", str(profiles)).exit_code == 0
    target = profiles / "poland@2024.yaml"
    target.write_text(target.read_text() + "# my own edits\n")
    before = files(profiles)
    result = run("profiles", "new", "poland@2024", "--profiles", str(profiles))
    assert result.exit_code == 2
    assert result.output == (f"Error: {display_path(target)}: a profile with this key already "
                             "exists; edit it, or choose another key [file-exists]\n")
    assert files(profiles) == before


def test_from_an_existing_profile_is_refused_over_an_existing_file(profiles):
    (profiles / "testland@2022.yaml").write_text(SOURCE)
    before = files(profiles)
    result = run("profiles", "new", "testland@2022", "--from", "testland@2022",
                 "--profiles", str(profiles))
    assert result.exit_code == 2
    assert "[file-exists]" in result.output
    assert files(profiles) == before


@pytest.mark.parametrize("key", ["Poland2024", "Poland@2024", "poland@24", "poland-2024",
                                 "poland@2024x", "../poland@2024"])
def test_a_malformed_key_is_refused(profiles, key):
    result = run("profiles", "new", key, "--profiles", str(profiles))
    assert result.exit_code == 2
    assert result.output.endswith(
        f": expected a key such as 'poland@2024' (lowercase country id, @, year), "
        f"found '{key}' [bad-key]\n")
    assert files(profiles) == {}
    assert sorted(p.name for p in profiles.parent.iterdir()) == ["profiles"]


def test_malformed_key_message_is_exact(profiles):
    result = run("profiles", "new", "Poland2024", "--profiles", str(profiles))
    assert result.output == ("Error: Poland2024: expected a key such as 'poland@2024' "
                             "(lowercase country id, @, year), found 'Poland2024' [bad-key]\n")


def test_from_an_unknown_profile_is_refused(profiles):
    (profiles / "testland@2022.yaml").write_text(SOURCE)
    result = run("profiles", "new", "testland@2024", "--from", "testland@2021",
                 "--profiles", str(profiles))
    assert result.exit_code == 2
    assert result.output.startswith("Error: no profile named 'testland@2021'; did you mean "
                                    "testland@2022?")
    assert set(files(profiles)) == {"testland@2022.yaml"}
