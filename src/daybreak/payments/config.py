"""The typology pack: a versioned YAML file resolved into validated, immutable objects.

Errors are collected, not raised one at a time: a user who mistypes two keys and writes
an invalid rule sees all three problems at once, each with its key path and YAML line.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES
from daybreak.payments.rules import AUTHORING_DIALECT, RuleError, rule_sql
from daybreak.schema.codes import countries, currencies, timezones
from daybreak.schema.columns import CHANNELS

DEFAULT_PACK = "default.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Typology(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    source: str = Field(min_length=3, description="public source the indicator rests on")
    subject: Literal["customer", "beneficiary"]
    strength: str = Field(description="SQL expression over feature columns, in [0, 1]")
    weight: float
    fires_at: float = Field(default=0.5, ge=0.0)
    explain: str
    network: bool = False


class LowValue(_Strict):
    reference_max: float = Field(gt=0)
    max_by_currency: dict[str, float] = {}


class Night(_Strict):
    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=0, le=23)


class Mcc(_Strict):
    vpn_software: tuple[str, ...]
    webcam_streaming: tuple[str, ...]
    airlines: tuple[str, ...]
    cash_withdrawal: tuple[str, ...] = ()

    @field_validator("*")
    @classmethod
    def _four_digits(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if not (len(c) == 4 and c.isdigit())]
        if bad:
            raise ValueError(f"merchant category codes must be 4 digits, got {bad}")
        return v


class Curve(_Strict):
    """A monotone piecewise-linear map from raw score to probability."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @field_validator("y")
    @classmethod
    def _monotone(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(b < a for a, b in itertools.pairwise(v)) or any(not 0 <= p <= 1 for p in v):
            raise ValueError("calibration y must be non-decreasing values in [0, 1]")
        return v

    def first_raw_at(self, probability: float) -> float:
        """The smallest raw score the curve maps to ``probability`` or more (linear
        between knots, as ``scan.calibrate``); above the last knot when it never does."""
        for (x0, y0), (x1, y1) in itertools.pairwise(zip(self.x, self.y, strict=False)):
            if y1 >= probability:
                if y0 >= probability or y1 == y0:
                    return x0 if y0 >= probability else x1
                return x0 + (x1 - x0) * (probability - y0) / (y1 - y0)
        return self.x[-1] if self.y and self.y[-1] >= probability else float("inf")


class Calibration(_Strict):
    customer: Curve
    beneficiary: Curve


class Realtime(_Strict):
    """Real-time scoring (``POST /v1/payments/score``): the decision for a payment is
    ``hold`` when the higher of its payer's and beneficiary's calibrated scores reaches
    ``hold``, ``review`` when it reaches ``review``, else ``allow``."""

    review: float = Field(default=0.2, ge=0.0, le=1.0)
    hold: float = Field(default=0.6, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Realtime:
        if self.hold < self.review:
            raise ValueError(f"hold ({self.hold}) must not be below review ({self.review})")
        return self


class Pack(_Strict):
    pack: str
    version: str
    reference_currency: str
    fx_to_reference: dict[str, float]
    corridor_countries: tuple[str, ...] = Field(min_length=1)
    default_timezones: dict[str, str] = {}
    low_value: LowValue
    night: Night
    cover_words: tuple[str, ...]
    handle_pattern: str = ""
    mcc: Mcc
    related_purchase_days: int = Field(default=30, gt=0)
    channel_risk: dict[str, float]
    female_given_names: tuple[str, ...] = ()
    name_particles: tuple[str, ...] = ()
    min_corridor_payments: int = Field(default=2, ge=1)
    alert_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    propagation_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    network_iterations: int = Field(default=2, ge=1, le=6)
    entity_max_accounts: int = Field(default=3, ge=1, le=10)
    organisation_words: tuple[str, ...] = ()
    bias: float
    typologies: tuple[Typology, ...] = Field(min_length=1)
    calibration: Calibration
    realtime: Realtime = Realtime()

    @field_validator("handle_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return check_regex(v)

    @field_validator("fx_to_reference")
    @classmethod
    def _currencies(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - currencies())
        if bad:
            raise ValueError(f"unknown ISO 4217 currency code(s) {bad}")
        if any(r <= 0 for r in v.values()):
            raise ValueError("exchange rates must be positive")
        return v

    @field_validator("corridor_countries")
    @classmethod
    def _countries(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = sorted(set(v) - countries())
        if bad:
            raise ValueError(f"unknown ISO 3166-1 alpha-2 country code(s) {bad}")
        return v

    @field_validator("default_timezones")
    @classmethod
    def _zones(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(z for z in v.values() if z not in timezones())
        if bad:
            raise ValueError(f"unknown IANA time zone(s) {bad}")
        return v

    @field_validator("channel_risk")
    @classmethod
    def _channels(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(CHANNELS))
        if bad:
            raise ValueError(f"unknown channel(s) {bad}; channels are {list(CHANNELS)}")
        return v

    def low_value_cap(self, currency: str) -> float:
        cap = self.low_value.max_by_currency.get(currency)
        if cap is not None:
            return cap
        return self.low_value.reference_max / self.fx_to_reference[currency]

    def typologies_for(self, subject: str) -> tuple[Typology, ...]:
        # kept per typologies tuple (the pack is frozen): real-time scoring asks a few
        # times a payment, and filtering the pack's typologies each time was 3% of it
        hit = _BY_SUBJECT.get(id(self.typologies))
        if hit is None or hit[0] is not self.typologies:
            if len(_BY_SUBJECT) >= 64:
                _BY_SUBJECT.clear()
            by: dict[str, list[Typology]] = {}
            for t in self.typologies:
                by.setdefault(t.subject, []).append(t)
            hit = (self.typologies, {s: tuple(ts) for s, ts in by.items()})
            _BY_SUBJECT[id(self.typologies)] = hit
        return hit[1].get(subject, ())


_BY_SUBJECT: dict[int, tuple[tuple[Typology, ...], dict[str, tuple[Typology, ...]]]] = {}


# Regular-expression syntax DuckDB's RE2 lacks (Spark's Java regex has it): lookaround
# and backreferences. A pack that uses it would load and then fail in the middle of a scan.
_NOT_IN_RE2 = re.compile(r"\(\?<?[=!]|\(\?P=|(?<!\\)(?:\\\\)*\\[1-9]")


def check_regex(pattern: str) -> str:
    """``pattern`` if every engine can run it as a regular expression; else ValueError."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {pattern!r}") from exc
    if _NOT_IN_RE2.search(pattern):
        raise ValueError(f"lookaround and backreferences are not supported by DuckDB: {pattern!r}")
    return pattern


class ConfigError(ValueError):
    """A typology pack that cannot be used; ``problems`` lists every one with its line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the typology pack:\n{listed}")


def default_pack_text() -> str:
    return (resources.files("daybreak.payments") / "typologies" / DEFAULT_PACK).read_text("utf-8")


def load_pack(path: Path | None = None) -> Pack:
    """Load and validate a pack file (the built-in default when ``path`` is None)."""
    if path is None:
        return parse_pack(default_pack_text(), "default.yaml (built-in)")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc}"]) from exc
    return parse_pack(text, str(path))


def parse_pack(text: str, source: str) -> Pack:
    try:
        node, data = _compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(source, [f"{where}not valid YAML ({exc})"]) from exc
    if not isinstance(data, dict) or node is None:
        raise ConfigError(source, ["expected a mapping of settings at the top level"])
    lines = _line_index(node)
    problems: list[str] = []
    pack: Pack | None = None
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = str(err["msg"])
            if err["type"] == "extra_forbidden":
                msg = _unknown_key_message(loc, data)
            problems.append(f"{_where(loc, lines)}: {msg}")
    if pack is not None:
        problems.extend(_check_rules(pack, lines))
    if problems:
        raise ConfigError(source, problems)
    assert pack is not None
    return pack


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree gives line numbers, the same tree gives the data.
    libyaml's loader when present (the pure-Python one costs ~0.1 s on the default pack)."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _check_rules(pack: Pack, lines: Mapping[tuple[Any, ...], int]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, t in enumerate(pack.typologies):
        if t.id in seen:
            problems.append(f"{_where(('typologies', i, 'id'), lines)}: duplicate id '{t.id}'")
        seen.add(t.id)
        allowed = CUSTOMER_FEATURES if t.subject == "customer" else BENEFICIARY_FEATURES
        try:
            rule_sql(t.strength, allowed, AUTHORING_DIALECT)  # checks, and caches for the scan
        except RuleError as exc:
            problems.append(f"{_where(('typologies', i, 'strength'), lines)}: {exc}")
        try:
            from daybreak.payments.explain import check_template

            check_template(t.explain, allowed)
        except ValueError as exc:
            problems.append(f"{_where(('typologies', i, 'explain'), lines)}: {exc}")
    return problems


def _line_index(node: yaml.Node) -> dict[tuple[Any, ...], int]:
    """Map each key path, e.g. ('typologies', 2, 'weight'), to its 1-based line."""
    out: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        out[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = (*path, k.value)
                out[key] = k.start_mark.line + 1
                walk_value(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    def walk_value(v: yaml.Node, path: tuple[Any, ...]) -> None:
        line = out[path]
        walk(v, path)
        out[path] = line  # a key's line is where the key is written

    walk(node, ())
    return out


def _where(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> str:
    path = tuple(loc)
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
    while path and path not in lines:
        path = path[:-1]
    line = lines.get(path)
    return f"line {line}, '{key}'" if line else f"'{key}'"


def _unknown_key_message(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    known: list[str] = []
    model: Any = Pack
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            model = None
            break
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            break
    if model is not None and hasattr(model, "model_fields"):
        known = list(model.model_fields)
    hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown key '{loc[-1]}'{suggestion}"
