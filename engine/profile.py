"""The profile model: one partner of the United States at one point in time.

Every factual field is a :class:`Fact`: its value plus, optionally, where the
value comes from and how firm it is. In YAML a fact is written either bare
(``tier: bilateral-treaty``) or in full::

    arms_russia_share:
      value: 46
      source: sipri-at21
      confidence: found-in-public-text
      note: SIPRI share of India's arms imports, 2017-21

A field left out is *unknown*; rules treat unknown explicitly (a comparison on
an unknown field is false, ``present: false`` matches it) and never as zero.

Field names avoid ``id``, ``sid`` and ``$s``, which durable_rules reserves.
"""

# Without ``from __future__ import annotations``: pydantic would evaluate each field's
# annotation from its text for every model (and every Fact[X]) it builds; here Python
# evaluates each once, at import, and the start of every command pays for this module.
import datetime as dt
import re
import types
from enum import StrEnum
from typing import Annotated
from typing import Any
from typing import Generic
from typing import TypeVar

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StrictBool
from pydantic import StrictInt
from pydantic import StrictStr
from pydantic import model_validator
from pydantic.json_schema import JsonDict
from pydantic.json_schema import JsonValue

T = TypeVar("T")

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]*@[0-9]{4}$")
AS_OF_FIRST = dt.date(1900, 1, 1)
AS_OF_LAST = dt.date(2100, 12, 31)
COUNTRY_PATTERN = r"^[a-z][a-z0-9-]*$"
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9-]*(#[a-z0-9][a-z0-9-]*)?$"
PERIOD_PATTERN = r"^[0-9]{4}(-[0-9]{4})?$"


class Confidence(StrEnum):
    """How firm a fact is, in the facts sheet's three marks."""

    STATED = "stated-in-document"
    PUBLIC = "found-in-public-text"
    PROVISIONAL = "provisional"


def _two_decimals(value: float) -> float:
    # durable_rules rejects numbers written with an exponent (1e-05), which json.dumps
    # produces below 1e-4: two decimals keep every share well clear of that.
    if round(value, 2) != value:
        raise ValueError("at most two decimal places are accepted")
    return value


Percent = Annotated[float, Field(ge=0, le=100, strict=True, allow_inf_nan=False), AfterValidator(_two_decimals)]
Year = Annotated[StrictInt, Field(ge=1800, le=2100)]
Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]


class Fact(BaseModel, Generic[T]):
    """A value and its provenance."""

    # A fact and a section are validated inside a profile, whose validator holds theirs:
    # their own are built only if one is validated alone (defer_build), and the sections'
    # defaults below are made without one (model_construct).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    value: T
    source: Annotated[StrictStr, Field(pattern=SOURCE_PATTERN)] | None = None
    confidence: Confidence | None = None
    note: StrictStr | None = None
    # the year or years the value describes ("2022", "2018-2022"): a dated field's value
    # must describe a period that ends at most its shelf life before the profile's as_of
    period: Annotated[StrictStr, Field(pattern=PERIOD_PATTERN)] | None = None

    @property
    def years(self) -> tuple[int, int] | None:
        if self.period is None:
            return None
        first, _, last = self.period.partition("-")
        return int(first), int(last or first)

    @model_validator(mode="before")
    @classmethod
    def _bare_value(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        return {"value": data}

    def __class_getitem__(cls, value_type: Any) -> Any:
        # Fact[X] is a plain subclass whose value is an X, made once per X and named as
        # pydantic names a parametrization ("Fact[Level]"), so that the JSON Schema and
        # the error messages are those of a generic model. Pydantic's parametrizing
        # substitutes the type variable through every field again, and made building the
        # profile's models, at every start of the command line, a fifth slower.
        made = _FACTS.get(value_type)
        if made is None:
            name = cls.model_parametrized_name((value_type,))
            namespace = {"__module__": cls.__module__, "__qualname__": name,
                         "__annotations__": {"value": value_type}}
            made = _FACTS[value_type] = types.new_class(
                name, (cls,), exec_body=lambda ns: ns.update(namespace))
        return made


_FACTS: dict[Any, type] = {}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# Facts of geography or history: a counterfactual may not propose to change them.
FIXED: JsonDict = {"actionable": False}


def dated(max_age: int, **extra: JsonValue) -> JsonDict:
    """A fact that changes from year to year: it must say which period it describes
    (``period``), and that period may end at most ``max_age`` years before ``as_of``.
    A 2012 troop count is not a 2022 fact; wartime duplicity is not a peacetime one."""
    return {"max_age": max_age, **extra}


# --- enumerations ---------------------------------------------------------------------------


class CommitmentTier(StrEnum):
    """The kind of US security commitment, strongest first."""

    COLLECTIVE_DEFENCE = "collective-defence"  # NATO Article 5
    BILATERAL_TREATY = "bilateral-treaty"  # e.g. US-Japan, US-ROK, ANZUS, US-Philippines
    FREE_ASSOCIATION = "free-association"  # Compacts: the US holds full defence responsibility
    AMBIGUOUS = "ambiguous-commitment"  # e.g. the Taiwan Relations Act
    INTERIM_ASSURANCE = "interim-assurance"  # e.g. pledges to Finland and Sweden in 2022
    # a defence treaty in force whose US obligation is suspended (ANZUS towards New
    # Zealand) or has fallen into disuse (the Rio Treaty)
    INACTIVE_TREATY = "inactive-treaty"
    STRATEGIC_PARTNERSHIP = "strategic-partnership"  # enhanced or strategic partnership
    AD_HOC = "ad-hoc-partnership"
    TERMINATED = "terminated"
    NONE = "none"


class Pledge(StrEnum):
    """ATOP's main obligation types that matter for protection."""

    DEFENCE = "defence"
    CONSULTATION = "consultation"
    NONE = "none"


class NatoPartnership(StrEnum):
    NONE = "none"
    PARTNER = "partner"  # Partnership for Peace or partner across the globe
    ENHANCED_OPPORTUNITIES = "enhanced-opportunities-partner"


class Presence(StrEnum):
    NONE = "none"
    ADVISORY = "advisory"  # trainers, advisers
    ROTATIONAL = "rotational"
    PERMANENT = "permanent"


class Level(StrEnum):
    """A four-step ordinal scale for qualitative facts."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class SanctionStatus(StrEnum):
    NONE = "none"
    THREATENED = "threatened"
    WAIVED = "waived"
    IMPOSED = "imposed"


class Adversary(StrEnum):
    NONE = "none"
    CHINA = "china"
    RUSSIA = "russia"
    NORTH_KOREA = "north-korea"
    INDIA = "india"
    PAKISTAN = "pakistan"
    IRAN = "iran"
    TURKEY = "turkey"
    VENEZUELA = "venezuela"
    OTHER_STATE = "other-state"
    NON_STATE = "non-state"


class AdversaryStrength(StrEnum):
    """What the principal adversary can bring to bear, weakest first."""

    NONE = "none"
    NON_STATE = "non-state"
    CONVENTIONAL_REGIONAL = "conventional-regional"  # e.g. Iran, Venezuela
    NUCLEAR_REGIONAL = "nuclear-regional"  # e.g. North Korea, India, Pakistan
    NUCLEAR_GREAT_POWER = "nuclear-great-power"  # China, Russia


class AidKind(StrEnum):
    """The most capable kind of US security assistance delivered in the period."""

    NONE = "none"
    TRAINING = "training"  # training, education, advisers
    EQUIPMENT = "equipment"  # small arms, vehicles, sustainment
    ADVANCED_SYSTEMS = "advanced-systems"  # air defence, artillery, anti-armour, aircraft


class Invasion(StrEnum):
    NONE = "none"
    PARTIAL = "partial"  # annexation or occupation of part of the territory
    FULL_SCALE = "full-scale"


class Vote(StrEnum):
    """Vote on UN General Assembly resolution ES-11/1 (2 March 2022)."""

    YES = "yes"
    ABSTAIN = "abstain"
    NO = "no"
    ABSENT = "absent"
    NOT_A_MEMBER = "not-a-member"


class Hedging(StrEnum):
    NONE = "none"
    BALANCE_OF_INFLUENCES = "balance-of-influences"
    ACTIVE = "active"


class Region(StrEnum):
    EUROPE = "europe"
    EAST_ASIA = "east-asia"
    SOUTHEAST_ASIA = "southeast-asia"
    SOUTH_ASIA = "south-asia"
    CENTRAL_ASIA = "central-asia"
    MIDDLE_EAST = "middle-east"
    AFRICA = "africa"
    AMERICAS = "americas"
    OCEANIA = "oceania"


# --- sections -------------------------------------------------------------------------------


class Commitment(Section):
    """What the United States has promised."""

    tier: Fact[CommitmentTier]
    instrument: Fact[StrictStr] | None = Field(None, json_schema_extra=FIXED)
    year: Fact[Year] | None = Field(None, json_schema_extra=FIXED)
    pledge: Fact[Pledge] | None = None
    caveated: Fact[StrictBool] | None = None
    conditional: Fact[StrictBool] | None = None
    integrated_command: Fact[StrictBool] | None = None
    membership_pending: Fact[StrictBool] | None = None
    nuclear_umbrella: Fact[StrictBool] | None = Field(
        None, description="US extended nuclear deterrence declared for the partner")
    nuclear_sharing: Fact[StrictBool] | None = Field(
        None, description="hosts US nuclear weapons under NATO nuclear sharing")
    major_non_nato_ally: Fact[StrictBool] | None = None
    major_defense_partner: Fact[StrictBool] | None = None
    nato_partnership: Fact[NatoPartnership] | None = None


class Forces(Section):
    """US forces on the partner's soil."""

    presence: Fact[Presence] | None = None
    troops_permanent: Fact[Count] | None = Field(
        None, description="US military personnel permanently assigned (DMDC)",
        json_schema_extra=dated(1))
    troops_rotational: Fact[Count] | None = Field(
        None, description="US personnel deployed on rotation or in named operations (not in DMDC)",
        json_schema_extra=dated(1))


class Cooperation(Section):
    """Working together, and the US stepping in or out of the way."""

    intelligence_sharing: Fact[Level] | None = None
    interoperability: Fact[Level] | None = None
    exercises: Fact[StrictBool] | None = None
    aukus: Fact[StrictBool] | None = None
    ntib: Fact[StrictBool] | None = None
    co_development: Fact[StrictBool] | None = None
    restrictions_lifted: Fact[StrictBool] | None = None
    restrictions_imposed: Fact[StrictBool] | None = None
    security_assistance_usd_m: Fact[Count] | None = Field(
        None, description="US security assistance committed in the period, US$ million "
        "(FMF, presidential drawdowns, USAI, section 333)", json_schema_extra=dated(1))
    security_assistance_kind: Fact[AidKind] | None = Field(
        None, description="the most capable kind of US assistance delivered in the period",
        json_schema_extra=dated(1))


class Dependence(Section):
    """Who arms and supplies the partner, and how much the US needs it."""

    arms_us_share: Fact[Percent] | None = Field(None, json_schema_extra=dated(1))
    arms_russia_share: Fact[Percent] | None = Field(None, json_schema_extra=dated(1))
    arms_china_share: Fact[Percent] | None = Field(None, json_schema_extra=dated(1))
    russian_energy: Fact[Level] | None = None
    china_trade: Fact[Level] | None = None
    us_reliance: Fact[Level] | None = None


class Sanctions(Section):
    """Exposure to US sanctions, CAATSA above all."""

    caatsa_purchase: Fact[StrictBool] | None = None
    caatsa_status: Fact[SanctionStatus] | None = None
    other_us_sanctions: Fact[SanctionStatus] | None = None
    un_sanctions: Fact[StrictBool] | None = None
    purchase_abandoned: Fact[StrictBool] | None = None
    joined_russia_sanctions: Fact[StrictBool] | None = None


class Threat(Section):
    """The threat the partner faces."""

    principal_adversary: Fact[Adversary] | None = Field(None, json_schema_extra=FIXED)
    territorial_dispute: Fact[StrictBool] | None = Field(None, json_schema_extra=FIXED)
    border_clashes: Fact[StrictBool] | None = Field(None, json_schema_extra=FIXED)
    invasion: Fact[Invasion] | None = Field(None, json_schema_extra=FIXED)
    adversary_strength: Fact[AdversaryStrength] | None = Field(None, json_schema_extra=FIXED)
    adversary_us_partner: Fact[StrictBool] | None = Field(
        None, description="the principal adversary is itself a US ally or partner",
        json_schema_extra=FIXED)


class Alignment(Section):
    """How the partner behaves towards the US and its rivals."""

    es11_1_vote: Fact[Vote] | None = Field(None, json_schema_extra=FIXED)  # cast in March 2022
    hedging: Fact[Hedging] | None = None
    rival_ties: Fact[Level] | None = None
    duplicity: Fact[StrictBool] | None = Field(None, json_schema_extra=dated(0))
    coordinates_with_rival: Fact[StrictBool] | None = Field(
        None, description="coordinates policy with Russia or China in a standing framework "
        "against US requests (e.g. OPEC+ output, CSTO)", json_schema_extra=dated(0))
    defence_spending_gdp: Fact[Percent] | None = Field(None, json_schema_extra=dated(1))


class Profile(BaseModel):
    """One partner at one date; ``key`` is ``<country>@<year of as_of>``."""

    # built when the first profile is validated: one read back from the profile cache,
    # or a command that reads none, never needs the validator
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    country: Annotated[StrictStr, Field(pattern=COUNTRY_PATTERN, max_length=40)]
    name: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    # four-digit years only: the year is the key's, and 0001-01-01 would make "testland@1"
    as_of: Annotated[dt.date, Field(strict=True, ge=AS_OF_FIRST, le=AS_OF_LAST)]
    # ISO 3166-1 alpha-3: data sets are matched to profiles by it, never by name
    iso3: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None
    region: Region | None = None
    summary: StrictStr | None = None
    # fields left unknown on purpose, each with the reason it cannot be known
    # ("SIPRI records no deliveries in the window"), so that unknown never means unread
    unknown: dict[Annotated[StrictStr, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")],
                  Annotated[StrictStr, Field(min_length=10)]] = {}
    commitment: Commitment
    forces: Forces = Forces.model_construct()
    cooperation: Cooperation = Cooperation.model_construct()
    dependence: Dependence = Dependence.model_construct()
    sanctions: Sanctions = Sanctions.model_construct()
    threat: Threat = Threat.model_construct()
    alignment: Alignment = Alignment.model_construct()

    @property
    def key(self) -> str:
        return f"{self.country}@{self.as_of.year}"


SECTIONS: dict[str, type[Section]] = {
    name: info.annotation
    for name, info in Profile.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Section)
}
