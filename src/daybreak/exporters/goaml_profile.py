"""Per-FIU goAML settings: report codes, indicator codes and code lists, as data.

Each FIU issues its own goAML schema with its own code lists, so the codes are never
hard-wired: a profile (YAML) names them, and the export is validated against the FIU's
XSD, which rejects any code the FIU does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from stdnum import bic as stdnum_bic

from daybreak.exporters.base import ExportError

PROFILE_PACKAGE = "daybreak.exporters.goaml_profiles"
DEFAULT_PROFILE = "uae-5.0.2"


class GoamlProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    schema_version: str | None = None
    report_code_transactions: str = "STR"
    report_code_activity: str = "SAR"
    submission_code: str = "E"
    transmode: dict[str, str] = Field(default_factory=dict, description="channel -> code")
    transmode_default: str = "-"
    # A fixed transmode_comment (UAE: one character); None = the channel name.
    transmode_comment: str | None = None
    funds: dict[str, str] = Field(default_factory=dict, description="channel -> code")
    funds_default: str = "-"
    contact_type_private: str
    contact_type_business: str
    communication_mobile: str
    address_type_business: str
    id_types: dict[str, str] = Field(default_factory=dict)
    indicators: dict[str, list[str]] = Field(default_factory=dict)
    features: list[str] = Field(default_factory=list)
    name_chars: str = "A-Za-z0-9 .'-"
    # Characters kept in entity (merchant) names; the default fits both schemas.
    entity_name_chars: str = "A-Za-z0-9 .'-"
    last_name_single_word: bool = False
    ascii_text: bool = False
    my_client_requires: list[str] = Field(default_factory=list)
    address_requires_state: bool = False
    # goAML dates carry no zone: times are written in this zone (the FIU's local time).
    timezone: str
    # t_person makes first_name and last_name mandatory in both schemas. When a part of a
    # person's name is not known it gets this placeholder (only then; the person's
    # comments and the exporter's notes say so). Two different words, so that a party
    # whose name is wholly unknown is never read as a person called "Unknown Unknown".
    unknown_first_name: str = "-"
    unknown_last_name: str = "-"
    # Beneficiary accounts (to_account): account type code by handle kind
    # (bank_account, wallet, crypto; see exporters.parties.handle_kind), omitted when
    # absent; the role of the account holder in <signatory>.
    account_types: dict[str, str] = Field(default_factory=dict)
    account_holder_role: str | None = None
    # to_account needs an institution code or a SWIFT/BIC. ``provider_bics`` maps a
    # handle's provider to the BIC the institution knows for it. Without one,
    # ``unknown_institution_code`` is written where the schema allows free text (UAE:
    # "-", goAML's "unknown"); None means the schema needs a real BIC, and the
    # beneficiary is then reported as a person with the account in comments (noted).
    provider_bics: dict[str, str] = Field(default_factory=dict)
    unknown_institution_code: str | None = None
    # Characters the schema allows in <account> (None: any); others are dropped and
    # the account as recorded goes in the account's comments.
    account_chars: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("provider_bics")
    @classmethod
    def _bics(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k, v in value.items() if not stdnum_bic.is_valid(v))
        if bad:
            raise ValueError(f"not a BIC (ISO 9362) for provider(s) {', '.join(bad)}")
        return {k.lower(): str(stdnum_bic.compact(v)) for k, v in value.items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def indicator_codes(self, signals: list[str]) -> list[str]:
        codes = list(self.indicators.get("default", []))
        for s in signals:
            for c in self.indicators.get(s, []):
                if c not in codes:
                    codes.append(c)
        return codes

    def has(self, feature: str) -> bool:
        return feature in self.features


def builtin_profiles() -> list[str]:
    root = resources.files(PROFILE_PACKAGE)
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path | None = None) -> GoamlProfile:
    """A built-in profile by name (``uae-5.0.2``, ``srilanka-2.0``) or a YAML file."""
    ref = str(name_or_path or DEFAULT_PROFILE)
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        source, label = path.read_text(encoding="utf-8"), str(path)
    elif ref in builtin_profiles():
        resource = resources.files(PROFILE_PACKAGE).joinpath(f"{ref}.yaml")
        source, label = resource.read_text(encoding="utf-8"), f"built-in profile {ref}"
    else:
        raise ExportError(
            f"goAML profile {ref!r} not found: give a YAML file or one of {builtin_profiles()}"
        )
    try:
        data = yaml.safe_load(source)
        return GoamlProfile.model_validate(data)
    except yaml.YAMLError as exc:
        raise ExportError(f"{label}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ExportError(f"{label}: {fields}") from exc


def misfits(profile: GoamlProfile, enumeration: Callable[[str], list[str]]) -> list[str]:
    """Codes of ``profile`` that the schema's code lists do not contain."""
    checks: list[tuple[str, str, list[str]]] = [
        (
            "report_type",
            "report codes",
            [profile.report_code_transactions, profile.report_code_activity],
        ),
        (
            "contact_type",
            "contact types",
            [profile.contact_type_private, profile.contact_type_business],
        ),
        ("communication_type", "communication types", [profile.communication_mobile]),
        (
            "conduction_type",
            "transmode codes",
            [*profile.transmode.values(), profile.transmode_default],
        ),
        ("funds_type", "funds codes", [*profile.funds.values(), profile.funds_default]),
        ("account_type", "account types", list(profile.account_types.values())),
        (
            "account_person_role_type",
            "account holder roles",
            [profile.account_holder_role] if profile.account_holder_role else [],
        ),
        (
            "report_indicator_type",
            "indicators",
            [c for cs in profile.indicators.values() for c in cs],
        ),
    ]
    out = []
    for type_name, label, codes in checks:
        allowed = set(enumeration(type_name))
        bad = sorted({c for c in codes if allowed and c not in allowed})
        if bad:
            out.append(f"{label} {bad} not in the schema's {type_name}")
    return out


def profile_for_schema(enumeration: Callable[[str], list[str]]) -> GoamlProfile:
    """The first built-in profile whose codes all appear in the schema's code lists."""
    tried = []
    for name in builtin_profiles():
        profile = load_profile(name)
        bad = misfits(profile, enumeration)
        if not bad:
            return profile
        tried.append(f"{name}: {'; '.join(bad)}")
    raise ExportError(
        "no built-in goAML profile fits this schema's code lists; write one for this FIU "
        "and pass --profile FILE (" + " | ".join(tried) + ")"
    )
