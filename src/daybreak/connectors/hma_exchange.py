"""HMA's view of the hash exchanges (``/c/exchanges...`` of the HMA-compatible API) over
Daybreak's one definition of them (:mod:`daybreak.connectors.hash_exchange`,
``store.exchanges``): HMA's ``api_json`` (python-threatexchange's collaboration config
as JSON) to and from an exchange's settings, HMA's ``credential_json`` to the secret
file the exchange reads at each sync, and the field schema HMA derives from the
python-threatexchange config and credential classes.

Credentials set through HMA's API are kept as the CLI keeps them: outside the store, in
a file readable by its owner only (``<media home>/exchange-credentials/<org>/<api>``),
read at each sync, never logged and never answered; exchanges created through the API
name that file (and the API's default environment variable, which wins when set).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment
from threatexchange.exchanges.impl.fb_threatexchange_api import FBThreatExchangeSignalExchangeAPI
from threatexchange.exchanges.impl.ncmec_api import NCMECSignalExchangeAPI
from threatexchange.exchanges.impl.stop_ncii_api import StopNCIISignalExchangeAPI

from daybreak.connectors.hash_exchange import (
    APIS,
    ExchangeSyncError,
    check_config,
    exchange_api,
)
from daybreak.store.auth import Actor
from daybreak.store.repositories.exchanges import Exchange, ExchangeError, ExchangeRepository

# the python-threatexchange classes whose fields HMA's schema and JSON use
CLASSES: dict[str, Any] = {
    "ncmec": NCMECSignalExchangeAPI,
    "fb_threatexchange": FBThreatExchangeSignalExchangeAPI,
    "stop_ncii": StopNCIISignalExchangeAPI,
}
SET_BY_HMA = frozenset({"name", "api", "enabled"})  # not part of an api_json
CREDENTIALS_DIR = "exchange-credentials"
# Daybreak's settings beyond the collaboration config (see docs/operations.md)
EXTRA_FIELDS: dict[str, list[dict[str, Any]]] = {
    api: [
        {"name": "endpoint", "type": "string", "required": False, "default": None,
         "help": "Daybreak: the exchange's base URL when not the public one (a proxy)",
         "choices": None},
    ]
    for api in APIS
}  # fmt: skip
EXTRA_FIELDS["ncmec"].append(
    {"name": "negative_reason", "type": "string", "required": False, "default": None,
     "help": "Daybreak: the NCMEC reason guid of a false-positive opinion", "choices": None}
)  # fmt: skip
# credential_json fields -> the credentials string the exchange's client reads, and
# the fields Daybreak adds (StopNCII's feedback endpoint has its own function key)
CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "ncmec": (("user", "password"), ":", ()),
    "fb_threatexchange": (("api_token",), "", ()),
    "stop_ncii": (("fetch_function_key", "subscription_key"), ",", ("feedback_function_key",)),
}
VALIDATING_CONFIG: dict[str, dict[str, Any]] = {
    "ncmec": {"environment": "Industry"},
    "fb_threatexchange": {"privacy_group": 1},
    "stop_ncii": {},
}


def known_api(api: str) -> None:
    if api not in CLASSES:
        raise ExchangeError(f"No such exchange type '{api}': one of {', '.join(CLASSES)}")


# -- schema ---------------------------------------------------------------------------


def _kind(tp: Any) -> tuple[str, list[Any] | None]:
    """HMA's name of a field type ("string", "number", "enum", "set_of_number", ...)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _kind(rest[0]) if len(rest) == 1 else ("string", None)
    if origin in (set, frozenset, list) and args:
        prefix = "list_of_" if origin is list else "set_of_"
        return prefix + _kind(args[0])[0], None
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "enum", [m.value for m in tp]
    if tp is bool:
        return "boolean", None
    if tp in (int, float):
        return "number", None
    return "string", None


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, list, tuple)):
        return [_json_default(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _fields(cls: Any, skip: frozenset[str]) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name in skip:
            continue
        kind, choices = _kind(hints.get(f.name, str))
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None
        if f.default is not dataclasses.MISSING:
            default = _json_default(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _json_default(f.default_factory())
        help_text = str(f.metadata.get("help", "")) if f.metadata else ""
        out.append({"name": f.name, "type": kind, "required": required, "default": default,
                    "help": help_text, "choices": choices})  # fmt: skip
    return out


def schema(api: str) -> dict[str, Any]:
    """``{config_schema, credentials_schema}`` of an exchange API, as HMA answers it:
    the fields of python-threatexchange's config class (less name, api, enabled) and of
    its credentials class, with Daybreak's own additions at the end."""
    known_api(api)
    cls = CLASSES[api]
    config = _fields(cls.get_config_cls(), SET_BY_HMA) + EXTRA_FIELDS[api]
    credentials = _fields(cls.get_credential_cls(), frozenset({"base_url_override"}))
    for extra in CREDENTIAL_FIELDS[api][2]:
        credentials.append({"name": extra, "type": "string", "required": False,
                            "default": None, "help": "Daybreak: needed to send opinions",
                            "choices": None})  # fmt: skip
    return {"config_schema": {"fields": config}, "credentials_schema": {"fields": credentials}}


# -- api_json <-> an exchange's settings ------------------------------------------------


def _environment(value: Any) -> str:
    """An NCMEC environment given by its URL (HMA's JSON) or its name (the CLI's)."""
    for env in NCMECEnvironment:
        if value in (env.value, env.name):
            return env.name
    raise ExchangeError(
        f"environment {value!r}: one of {', '.join(e.value for e in NCMECEnvironment)}"
    )


def _number(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExchangeError(f"{key} must be a number, got {value!r}")
    return value


def config_of(api: str, name: str, api_json: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The exchange's settings and enabled flag from HMA's ``api_json``, checked (an
    unknown, missing or mistyped field is refused, naming it)."""
    known_api(api)
    allowed = {f["name"] for f in schema(api)["config_schema"]["fields"]}
    unknown = sorted(set(api_json) - allowed - SET_BY_HMA)
    if unknown:
        raise ExchangeError(f"unknown field(s) {', '.join(unknown)}: {api} takes {sorted(allowed)}")
    enabled = api_json.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ExchangeError(f"enabled must be true or false, got {enabled!r}")
    config = {k: v for k, v in api_json.items() if k not in SET_BY_HMA and v is not None}
    if "environment" in config:
        config["environment"] = _environment(config["environment"])
    if "privacy_group" in config:
        config["privacy_group"] = _number("privacy_group", config["privacy_group"])
    if "only_esp_ids" in config:
        ids = config["only_esp_ids"]
        if not isinstance(ids, list):
            raise ExchangeError(f"only_esp_ids must be a list of numbers, got {ids!r}")
        config["only_esp_ids"] = sorted({_number("only_esp_ids", i) for i in ids})
    for key in ("endpoint", "negative_reason"):
        if key in config and not isinstance(config[key], str):
            raise ExchangeError(f"{key} must be a string, got {config[key]!r}")
    check_config(api, name, config)
    return config, enabled


def collab_json(exchange: Exchange) -> dict[str, Any]:
    """An exchange as HMA shows a collaboration config: name, api, enabled and the
    API's fields (NCMEC's environment as its URL)."""
    out: dict[str, Any] = {"name": exchange.name, "api": exchange.api, "enabled": exchange.enabled}
    for key, value in exchange.config.items():
        out[key] = NCMECEnvironment[value].value if key == "environment" else value
    if exchange.bank != exchange.name:
        out["bank"] = exchange.bank  # added with the CLI under another name
    return out


# -- credentials ------------------------------------------------------------------------


def credentials_file(home: Path, org: str, api: str) -> Path:
    return home / CREDENTIALS_DIR / org / api


def credentials_set(home: Path, org: str, api: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether syncs of the API's exchanges created through HMA's API find credentials
    (the API's environment variable, else the file HMA's API writes)."""
    env = os.environ if env is None else env
    path = credentials_file(home, org, api)
    return bool(env.get(exchange_api(api).credentials_env, "").strip()) or (
        path.is_file() and path.stat().st_size > 0
    )


def _secret_of(api: str, credential_json: Mapping[str, Any]) -> str:
    required, joiner, optional = CREDENTIAL_FIELDS[api]
    given = {k: v for k, v in credential_json.items() if v is not None}
    if given.get("base_url_override"):
        raise ExchangeError("base_url_override: give the exchange's endpoint in its api_json")
    given.pop("base_url_override", None)
    unknown = sorted(set(given) - set(required) - set(optional))
    missing = [k for k in required if not given.get(k)]
    if unknown or missing:
        raise ExchangeError(
            f"credential_json of {api} takes {', '.join(required + optional)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    parts = [given[k] for k in required + optional if given.get(k)]
    if not all(isinstance(p, str) for p in parts):
        raise ExchangeError(f"credential_json of {api}: every value must be a string")
    return joiner.join(parts)


def save_credentials(home: Path, org: str, api: str, credential_json: Mapping[str, Any]) -> None:
    """Write (empty ``credential_json``: remove) the API's credentials file, mode 600.
    The values are checked the way a sync reads them and never echoed in an error."""
    known_api(api)
    path = credentials_file(home, org, api)
    if not credential_json:
        path.unlink(missing_ok=True)
        return
    secret = _secret_of(api, credential_json)
    try:
        APIS[api].open("check", VALIDATING_CONFIG[api], secret)
    except ExchangeSyncError as exc:  # the message names the expected shape, not the value
        raise ExchangeError(str(exc)) from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{api}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret)
    partial.replace(path)


# -- fetch status -----------------------------------------------------------------------


def _epoch(at: datetime | None) -> int | None:
    return int(at.timestamp()) if at is not None else None


def fetch_status(exchanges: ExchangeRepository, actor: Actor, name: str) -> dict[str, Any]:
    """python-threatexchange's ``FetchStatus`` of an exchange, as HMA answers it: the
    checkpoint's time (the client's own reading of it), the sync running now, the end
    and outcome of the last one, and the items stored. A Daybreak sync runs to the end
    of what the exchange has unless it fails, so a successful one is up to date."""
    exchange = exchanges.get(actor, name)
    state = exchanges.fetch_state(actor, name)
    checkpoint_ts = None
    if exchange.checkpoint:
        stored = json.loads(exchange.checkpoint)
        checkpoint_ts = exchange_api(exchange.api).checkpoint(stored).get_progress_timestamp()
    return {
        "checkpoint_ts": checkpoint_ts,
        "running_fetch_start_ts": _epoch(state.started_at),
        "last_fetch_complete_ts": _epoch(state.ended_at),
        "last_fetch_succeeded": state.succeeded,
        "up_to_date": state.succeeded is True,
        "fetched_items": state.items,
    }
