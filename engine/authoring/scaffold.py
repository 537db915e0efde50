"""Starting a profile: a commented template of every field the rules read, or a copy of
another profile with its facts marked for re-checking.

Either way the new file is valid at once (every fact it does not yet hold is listed
under ``unknown:`` with the reason), so an analyst can score it while filling it in,
and ``profiles completeness`` shows what is left to do.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..errors import LoadError
from ..fields import field_specs
from ..loader import is_key
from ..loader import load_profile
from ..rules import RuleSet

TEMPLATE_REASON = "not yet researched (new profile from the template)"


def _name_of(country: str) -> str:
    return " ".join(w.capitalize() for w in country.split("-"))


def _iso3_of(name: str) -> str | None:
    import pycountry

    try:
        return pycountry.countries.lookup(name).alpha_3
    except LookupError:
        return None


def new_profile_text(key: str, ruleset: RuleSet, source: Path | None = None) -> str:
    """The YAML of a new profile ``key``: a template, or a copy of the profile at ``source``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    if not is_key(key):
        raise LoadError("bad-key", key, expected="a key such as 'poland@2024' "
                        "(lowercase country id, @, year)", found=f"'{key}'")
    country, _, year = key.partition("@")
    y = YAML()
    y.width = 88
    read = [spec for spec in ruleset.fields_read if "." in spec.path]
    data = CommentedMap()
    if source is None:
        name = _name_of(country)
        data["country"] = country
        data["name"] = name
        data["as_of"] = f"{year}-07-01"
        iso3 = _iso3_of(name)
        if iso3:
            data["iso3"] = iso3
        data["summary"] = "Two or three sentences on the relationship at as_of, in your own words."
        data["commitment"] = CommentedMap(tier=CommentedMap(
            value="none", confidence="provisional",
            note="placeholder: set the tier the record supports (docs/profiles.md)"))
        unknown = CommentedMap()
        for spec in read:
            if spec.path != "commitment.tier":
                unknown[spec.path] = TEMPLATE_REASON
                unknown.yaml_add_eol_comment(f"{spec.describe()}" +
                                             ("; dated: give 'period'" if spec.max_age is not None
                                              else ""), spec.path)
        data["unknown"] = unknown
        data.yaml_set_start_comment(
            f"New profile {key}: replace each entry under 'unknown:' by a sourced fact\n"
            "(docs/profiles.md says how to code each field), or give the reason it cannot\n"
            "be known. Check progress with: latticework profiles completeness")
    else:
        text = source.read_text(encoding="utf-8")
        data = y.load(text)
        old_year = int(str(data["as_of"])[:4])
        if data.get("country") != country:
            # another country's name and ISO code would let an import write its figures here
            data["name"] = _name_of(country)
            iso3 = _iso3_of(data["name"])
            if iso3:
                data["iso3"] = iso3
            elif "iso3" in data:
                del data["iso3"]
        data["country"] = country
        data["as_of"] = f"{year}-07-01"
        specs = field_specs()
        unknown = data.get("unknown") or CommentedMap()
        for section in list(data):
            spec_section = data[section]
            if not isinstance(spec_section, dict) or section == "unknown":
                continue
            for name in list(spec_section):
                path = f"{section}.{name}"
                field_spec = specs.get(path)
                fact = spec_section[name]
                if field_spec is None:
                    continue
                if field_spec.max_age is not None:
                    # a dated figure of another year is not a fact of this one
                    del spec_section[name]
                    unknown[path] = (f"copied from {source.stem}: its figure was for "
                                     f"{_period(fact)}; find the figure for {year}")
                    continue
                if not isinstance(fact, dict):
                    fact = CommentedMap(value=fact)
                    spec_section[name] = fact
                note = fact.get("note")
                fact["note"] = (f"RE-CHECK for {year} (copied from {source.stem})"
                                + (f": {' '.join(str(note).split())}" if note else ""))
            if not spec_section:
                del data[section]
        if unknown:
            data["unknown"] = unknown
        data.yaml_set_start_comment(
            f"New profile {key}, copied from {source.stem} ({old_year}): every fact is marked\n"
            "RE-CHECK; dated figures moved under 'unknown:' until found for the new year.")
    # the template must be valid YAML data with the profile's date as a date, not text
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue().replace(f"as_of: '{year}-07-01'", f"as_of: {year}-07-01")


def _period(fact: Any) -> str:
    if isinstance(fact, dict) and fact.get("period"):
        return str(fact["period"])
    return "an earlier year"


def write_new_profile(key: str, ruleset: RuleSet, directory: Path, catalog: Catalog,
                      source: Path | None = None) -> Path:
    """Write ``directory/key.yaml`` (never over an existing file) and validate it back."""
    target = directory / f"{key}.yaml"
    if target.exists():
        raise LoadError("file-exists", target, detail="a profile with this key already exists",
                        hint="edit it, or choose another key")
    text = new_profile_text(key, ruleset, source)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{key}.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    try:
        load_profile(tmp, catalog)
        tmp.rename(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
