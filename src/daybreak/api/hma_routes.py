"""An HMA-compatible HTTP API: the routes and payloads of Meta's Hasher-Matcher-Actioner
2.0 (``/status``, ``/h``, ``/m``, ``/c``) over Daybreak's banks and matcher, so a
platform already integrated with HMA points its client at ``<daybreak>/hma`` unchanged
but for one header: HMA has no authentication, Daybreak keeps its own (``X-API-Key`` or
a session), and every route sees only the caller's organisation.

Who may call what: the hashing and matching routes (``/status``, ``/h``, ``/m``) every
role that may use ``/v1/media/match``; the curation routes (``/c``, banks and exchanges,
and ``/dev/run_fetch``, the sync now) supervisors and admins, the roles that change banks
in the console. Exchanges are ``store.exchanges``, the ones ``daybreak media exchange``
configures (:mod:`daybreak.connectors.hma_exchange` maps HMA's JSON onto them).
Refusals by the HMA routes use HMA's error shape ``{"message": ...}``; Daybreak's own
refusals (401, 403, 429) keep Daybreak's. Uploads are read into memory with the media
size limit and hashed there (:mod:`daybreak.api.media_routes`), never written. The
vocabulary (content ids, signal type names, ratios) is :mod:`daybreak.media.hma`; what
differs from HMA is in docs/operations.md ("HMA-compatible API").
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from python_multipart.multipart import parse_options_header

from daybreak.api.media_routes import (
    matcher_of,
    max_upload,
    media_home_of,
    multipart_parts,
    read_body,
)
from daybreak.api.security import ALL_ROLES, require
from daybreak.connectors.hash_exchange import (
    ExchangeSyncError,
    exchange_api,
    queue_case_verdicts,
    send_opinions,
    sync_all,
)
from daybreak.connectors.hma_exchange import CLASSES as EXCHANGE_CLASSES
from daybreak.connectors.hma_exchange import (
    collab_json,
    credentials_file,
    credentials_set,
    fetch_status,
    save_credentials,
)
from daybreak.connectors.hma_exchange import config_of as hma_config
from daybreak.connectors.hma_exchange import schema as exchange_schema
from daybreak.media.banks import Bank, BankEntry, BankError, BankStore, check_bank_name
from daybreak.media.hashing import MediaError
from daybreak.media.hma import (
    HmaError,
    banks_filter,
    check_content_type,
    check_metadata,
    check_note,
    content_label,
    daybreak_signals,
    entry_content_id,
    grouped,
    hash_content,
    hma_name,
    new_content_id,
    only_types,
    ratio_to_enabled,
)
from daybreak.media.matcher import Match, MediaMatcher
from daybreak.plugins import signal_types
from daybreak.store import Actor, TiplineStore
from daybreak.store.auth import MANAGERS
from daybreak.store.repositories.exchanges import ExchangeError

router = APIRouter(tags=["hma"])
matching_actor = require(ALL_ROLES)
curation_actor = require(MANAGERS)
DEFAULT_PREFIX = "/hma"
HMA_BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # HMA's rule, on top of Daybreak's
DISABLED = 0  # HMA's disable_until_ts of content that matches


def mount_hma(app: FastAPI, prefix: str = DEFAULT_PREFIX) -> None:
    """Serve the HMA-compatible routes under ``prefix`` with HMA's error shape."""

    async def hma_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HmaError)
        return JSONResponse(status_code=exc.status, content={"message": exc.message})

    app.add_exception_handler(HmaError, hma_error)
    app.include_router(router, prefix=prefix)


# -- reading requests --------------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    try:
        data = json.loads(body) if body else None
    except ValueError:
        raise HmaError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HmaError(400, "this endpoint expects a json object payload")
    return data


async def _upload(request: Request) -> tuple[str, bytes, dict[str, str]]:
    """The one uploaded file of a multipart body: (content type = its field name, its
    bytes, the other form fields)."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not options.get(b"boundary"):
        raise HmaError(400, "Missing multipart/form-data file upload")
    body = await read_body(request, max_upload(request))
    try:
        parts = multipart_parts(body, options[b"boundary"])
    except HTTPException as exc:
        raise HmaError(exc.status_code, str(exc.detail)) from None
    finally:
        del body
    files: list[tuple[str, bytes]] = []
    form: dict[str, str] = {}
    for headers, content in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        name = disposition.get(b"name", b"").decode("latin-1")
        if b"filename" in disposition:
            files.append((name, bytes(content)))
        else:
            form[name] = content.decode("utf-8", "replace")
    if not files:
        raise HmaError(400, "Missing multipart/form-data file upload")
    if len(files) > 1:
        raise HmaError(400, "Only one file allowed per request")
    return check_content_type(files[0][0]), files[0][1], form


async def _hashes_of_upload(request: Request, types: str | None) -> dict[str, str]:
    content_type, data, _ = await _upload(request)
    return only_types(await _hash(content_type, data), types)


async def _hash(content_type: str, data: bytes) -> dict[str, str]:
    try:
        return await run_in_threadpool(hash_content, content_type, data)
    except MediaError as exc:
        raise HmaError(exc.status, str(exc)) from None
    finally:
        del data


def _no_url(url: str | None) -> None:
    if url:
        raise HmaError(
            400, "fetching content from a url is not supported: upload the file as multipart"
        )


# -- status and hashing ------------------------------------------------------------------


@router.get("/status", response_class=PlainTextResponse, summary="HMA: I-AM-ALIVE")
def status(request: Request, actor: Actor = Depends(matching_actor)) -> PlainTextResponse:
    try:
        matcher_of(request, actor)
    except HTTPException:
        return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
    return PlainTextResponse("I-AM-ALIVE")


@router.post("/h/hash", summary="HMA: hash an upload (field name photo or video)")
async def hash_upload(
    request: Request, types: str | None = None, _: Actor = Depends(matching_actor)
) -> dict[str, str]:
    return await _hashes_of_upload(request, types)


# -- matching ----------------------------------------------------------------------------


def _matches(
    request: Request, actor: Actor, signal_type: str, signal: str, banks: set[str] | None
) -> list[tuple[str, int, int]]:
    """(bank, content id, distance) of the enabled banks' entries matching ``signal``."""
    kind, value = next(iter(daybreak_signals({signal_type: signal}).items()))
    matcher = matcher_of(request, actor)
    found = matcher.match([(kind, value)])
    return [
        (m.bank, _content_id(m), m.distance)
        for m in found
        if m.status == "match" and (banks is None or m.bank in banks)
    ]


def _content_id(m: Match) -> int:
    return entry_content_id(m.bank, m.hash_type, m.listed_hash, m.labels)


@router.get("/m/raw_lookup", summary="HMA: the content ids a hash matches")
async def raw_lookup(
    request: Request,
    signal: str,
    signal_type: str,
    banks: str | None = None,
    include_distance: bool = False,
    actor: Actor = Depends(matching_actor),
) -> dict[str, Any]:
    found = await run_in_threadpool(
        _matches, request, actor, signal_type, signal, banks_filter(banks)
    )
    if include_distance:
        rows = [row for group in grouped(found).values() for row in group]
        return {"matches": rows}
    return {"matches": sorted({cid for _, cid, _ in found})}


@router.get("/m/lookup", summary="HMA: the banks a hash matches")
async def lookup_signal(
    request: Request,
    signal: str | None = None,
    signal_type: str | None = None,
    url: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    actor: Actor = Depends(matching_actor),
) -> dict[str, Any]:
    _no_url(url)
    if not signal or not signal_type:
        raise HmaError(400, "Either url or both signal and signal_type are required")
    found = await run_in_threadpool(
        _matches, request, actor, signal_type, signal, banks_filter(banks)
    )
    return grouped(found)


@router.post("/m/lookup", summary="HMA: hash an upload and look it up")
async def lookup_upload(
    request: Request,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
    types: str | None = None,
    actor: Actor = Depends(matching_actor),
) -> dict[str, Any]:
    hashes = await _hashes_of_upload(request, types)
    wanted = banks_filter(banks)
    out: dict[str, Any] = {}
    for name, value in hashes.items():
        found = await run_in_threadpool(_matches, request, actor, name, value, wanted)
        out[name] = grouped(found)
    return out


@router.get("/m/index/status", summary="HMA: the index of each signal type")
async def index_status(
    request: Request, signal_type: str | None = None, actor: Actor = Depends(matching_actor)
) -> dict[str, Any]:
    names = list(signal_types())
    if signal_type is not None:
        if signal_type not in names:
            raise HmaError(400, f"No such signal type '{signal_type}'")
        names = [signal_type]
    matcher = matcher_of(request, actor)
    return await run_in_threadpool(_index_status, matcher, names)


def _index_status(matcher: MediaMatcher, names: list[str]) -> dict[str, Any]:
    store = matcher.store
    if store.reload_if_changed():  # a bank changed meanwhile (here, in the CLI)
        matcher.sync()
    sizes = dict.fromkeys(names, 0)
    newest = -1
    for bank in store.banks():
        if not bank.enabled:
            continue
        counts = store.entries(bank.name)["hash_type"].value_counts().iter_rows()
        for kind, count in counts:
            if kind in sizes:
                sizes[kind] += count
        newest = max(newest, _epoch(bank.updated_at))
    return {
        name: {"present": True, "built_to": newest if sizes[name] else -1, "size": sizes[name]}
        for name in names
    }


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) if iso else -1


# -- curation: banks ---------------------------------------------------------------------


def _banks(request: Request, actor: Actor) -> BankStore:
    store: TiplineStore = request.app.state.store
    return store.banks.open(media_home_of(request) / "banks", actor)


def _bank(banks: BankStore, name: str) -> Bank:
    try:
        return banks.get(name)
    except BankError:
        raise HmaError(404, f"bank '{name}' not found") from None


def _bank_json(bank: Bank) -> dict[str, Any]:
    return {"name": bank.name, "matching_enabled_ratio": 1.0 if bank.enabled else 0.0}


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not HMA_BANK_NAME.fullmatch(name):
        raise HmaError(400, f"bank name {name!r} must be UPPER_SNAKE_CASE (A-Z, 0-9, _)")
    try:
        return check_bank_name(name)
    except BankError as exc:
        raise HmaError(400, str(exc)) from None


def _enabled_of(body: dict[str, Any], default: bool | None) -> bool | None:
    if body.get("enabled_ratio") is not None:
        return ratio_to_enabled(body["enabled_ratio"], "enabled_ratio")
    if body.get("enabled") is not None:
        if not isinstance(body["enabled"], bool):
            raise HmaError(400, f"enabled must be true or false, got {body['enabled']!r}")
        return bool(body["enabled"])
    return default


@router.get("/c/banks", summary="HMA: list banks")
def list_banks(request: Request, actor: Actor = Depends(curation_actor)) -> list[dict[str, Any]]:
    return [_bank_json(b) for b in sorted(_banks(request, actor).banks(), key=lambda b: b.name)]


@router.post("/c/banks", status_code=201, summary="HMA: create a bank")
async def create_bank(request: Request, actor: Actor = Depends(curation_actor)) -> dict[str, Any]:
    body = await _json_object(request)
    name = _checked_name(body.get("name"))
    enabled = _enabled_of(body, True)
    return await run_in_threadpool(_create_bank, request, actor, name, bool(enabled))


def _create_bank(request: Request, actor: Actor, name: str, enabled: bool) -> dict[str, Any]:
    banks = _banks(request, actor)
    if name in {b.name for b in banks.banks()}:
        raise HmaError(403, "Bank already exists")  # HMA's status
    bank = banks.create(name, source="HMA API")
    if not enabled:
        bank = banks.update(name, enabled=False)
    return _bank_json(bank)


@router.get("/c/bank/{bank_name}", summary="HMA: one bank")
def get_bank(
    bank_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    return _bank_json(_bank(_banks(request, actor), bank_name))


@router.put("/c/bank/{bank_name}", summary="HMA: change a bank (enabled, enabled_ratio)")
async def update_bank(
    bank_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    banks = _banks(request, actor)
    bank = _bank(banks, bank_name)
    body = await _json_object(request)
    if body.get("name") not in (None, bank.name):
        raise HmaError(400, "renaming a bank is not supported: Daybreak's audit names it")
    enabled = _enabled_of(body, None)
    if enabled is not None and enabled != bank.enabled:
        bank = await run_in_threadpool(lambda: banks.update(bank_name, enabled=enabled))
    return _bank_json(bank)


@router.delete("/c/bank/{bank_name}", summary="HMA: delete a bank (refused)")
def delete_bank(
    bank_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    _bank(_banks(request, actor), bank_name)
    raise HmaError(
        409,
        "Daybreak keeps every bank for its audit trail: stop its matching with "
        'PUT {"enabled": false} and remove content with DELETE .../content/<id>',
    )


# -- curation: content -------------------------------------------------------------------


def _add(request: Request, actor: Actor, bank_name: str, signals: dict[str, str]) -> dict[str, Any]:
    """Add one piece of content (HMA type -> hash) to the bank: its entries share a
    content id (the ``hma_content:<id>`` label)."""
    if not signals:
        raise HmaError(400, "No signals given")
    kinds = daybreak_signals(signals)
    banks = _banks(request, actor)
    _bank(banks, bank_name)
    cid = new_content_id(bank_name, kinds)
    entries = [BankEntry(t, h, (content_label(cid),)) for t, h in kinds.items()]
    banks.add(bank_name, entries)
    return {"id": cid, "signals": signals}


@router.post("/c/bank/{bank_name}/signal", summary="HMA: add hashes to a bank")
async def add_signals(
    bank_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    _bank(_banks(request, actor), bank_name)
    body = await _json_object(request)
    check_note(body.pop("note", None))
    return await run_in_threadpool(_add, request, actor, bank_name, body)


@router.post("/c/bank/{bank_name}/content", summary="HMA: hash an upload into a bank")
async def add_content(
    bank_name: str,
    request: Request,
    url: str | None = None,
    actor: Actor = Depends(curation_actor),
) -> dict[str, Any]:
    _bank(_banks(request, actor), bank_name)
    _no_url(url)
    content_type, data, form = await _upload(request)
    check_note(form.get("note"))
    if "metadata" in form:
        try:
            check_metadata(json.loads(form["metadata"]))
        except ValueError:
            raise HmaError(400, "metadata form field must be valid JSON") from None
    hashes = await _hash(content_type, data)
    return await run_in_threadpool(_add, request, actor, bank_name, hashes)


def _content_rows(banks: BankStore, bank_name: str, content_id: int) -> list[tuple[str, str]]:
    """(Daybreak type, hash) of the bank's entries with ``content_id``."""
    rows = banks.entries(bank_name).select("hash_type", "hash", "labels").iter_rows()
    return [
        (kind, value)
        for kind, value, labels in rows
        if entry_content_id(bank_name, kind, value, labels or ()) == content_id
    ]


@router.get("/c/bank/{bank_name}/content/{content_id}", summary="HMA: one piece of content")
def get_content(
    bank_name: str,
    content_id: int,
    request: Request,
    include_signals: bool = False,
    actor: Actor = Depends(curation_actor),
) -> dict[str, Any]:
    banks = _banks(request, actor)
    bank = _bank(banks, bank_name)
    rows = _content_rows(banks, bank_name, content_id)
    if not rows:
        raise HmaError(404, f"content '{content_id}' not found")
    out: dict[str, Any] = {
        "id": content_id,
        "disable_until_ts": DISABLED,
        "original_media_uri": None,
        "bank": _bank_json(bank),
    }
    if include_signals:
        out["signals"] = {hma_name(kind): value for kind, value in rows}
    return out


@router.delete("/c/bank/{bank_name}/content/{content_id}", summary="HMA: remove content")
def delete_content(
    bank_name: str, content_id: int, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, int]:
    banks = _banks(request, actor)
    _bank(banks, bank_name)
    rows = _content_rows(banks, bank_name, content_id)
    return {"deleted": 1 if rows and banks.remove(bank_name, rows) else 0}


# -- curation: exchanges -----------------------------------------------------------------

EXCHANGE_BANK = re.compile(r"[A-Z0-9_]+")  # HMA's rule for an exchange's bank (= its name)
_fetching = threading.Lock()  # one fetch at a time per server, as HMA runs one fetcher


def _store(request: Request) -> TiplineStore:
    store: TiplineStore = request.app.state.store
    return store


def _known_exchange(request: Request, actor: Actor, name: str) -> None:
    if name not in {e.name for e in _store(request).exchanges.all(actor)}:
        raise HmaError(404, f"Exchange '{name}' not found")


def _api_auth(request: Request, actor: Actor, api_name: str) -> dict[str, bool]:
    home = media_home_of(request)
    return {
        "supports_authentification": True,  # every exchange Daybreak syncs needs credentials
        "has_set_authentification": credentials_set(home, actor.org_id, api_name),
    }


@router.get("/c/exchanges/apis", summary="HMA: the exchange API types")
def exchange_apis(_: Actor = Depends(curation_actor)) -> list[str]:
    return list(EXCHANGE_CLASSES)


@router.get("/c/exchanges/api/{api_name}", summary="HMA: whether an API's credentials are set")
def exchange_api_auth(
    api_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, bool]:
    if api_name not in EXCHANGE_CLASSES:
        raise HmaError(400, f"no such Exchange API '{api_name}'")
    return _api_auth(request, actor, api_name)


@router.post("/c/exchanges/api/{api_name}", summary="HMA: set an API's credentials")
async def exchange_api_credentials(
    api_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, bool]:
    if api_name not in EXCHANGE_CLASSES:
        raise HmaError(400, f"no such Exchange API '{api_name}'")
    body = await _json_object(request)
    given = body.get("credential_json")
    if given is not None:
        if not isinstance(given, dict):
            raise HmaError(400, "credential_json must be a json object")
        await run_in_threadpool(_set_credentials, request, actor, api_name, given)
    return _api_auth(request, actor, api_name)


def _set_credentials(request: Request, actor: Actor, api: str, given: dict[str, Any]) -> None:
    try:
        save_credentials(media_home_of(request), actor.org_id, api, given)
    except ExchangeError as exc:
        raise HmaError(400, str(exc)) from None
    _store(request).exchanges.record_credentials(actor, api, bool(given))


@router.get("/c/exchanges/api/{api_name}/schema", summary="HMA: an API's config fields")
def exchange_api_schema(api_name: str, _: Actor = Depends(curation_actor)) -> dict[str, Any]:
    if api_name not in EXCHANGE_CLASSES:
        raise HmaError(404, f"Exchange API '{api_name}' not found")
    return exchange_schema(api_name)


@router.post("/c/exchanges", status_code=201, summary="HMA: create an exchange")
async def create_exchange(
    request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, str]:
    body = await _json_object(request)
    bank, api, api_json = body.get("bank"), body.get("api"), body.get("api_json", {})
    if bank is None:
        raise HmaError(400, "bank is required")
    if not isinstance(bank, str) or not EXCHANGE_BANK.fullmatch(bank):
        raise HmaError(400, "Field `bank` must match /^[A-Z0-9_]+$/")
    if not isinstance(api_json, dict):
        raise HmaError(400, "Field `api_json` must be object")
    if api is None:
        raise HmaError(400, "Field `api_type` is required")
    if api not in EXCHANGE_CLASSES:
        raise HmaError(400, f"No such exchange type '{api}'")
    await run_in_threadpool(_create_exchange, request, actor, bank, str(api), api_json)
    return {"message": "Created successfully"}


def _create_exchange(
    request: Request, actor: Actor, bank: str, api: str, api_json: dict[str, Any]
) -> None:
    exchanges = _store(request).exchanges
    try:
        check_bank_name(bank)
        config, enabled = hma_config(api, bank, api_json)
    except (BankError, ExchangeError) as exc:
        raise HmaError(400, f"Failed to parse `api_json` - {exc}") from None
    if bank in {e.name for e in exchanges.all(actor)}:
        raise HmaError(409, f"an exchange named {bank!r} exists already")
    secret = credentials_file(media_home_of(request), actor.org_id, api)
    exchanges.add(actor, bank, api, bank, config, exchange_api(api).credentials_env, str(secret))
    if not enabled:
        exchanges.set_enabled(actor, bank, False)


@router.get("/c/exchanges", summary="HMA: the exchanges' names")
def list_exchanges(request: Request, actor: Actor = Depends(curation_actor)) -> list[str]:
    return [e.name for e in _store(request).exchanges.all(actor)]


@router.get("/c/exchange/{exchange_name}", summary="HMA: one exchange's config")
def get_exchange(
    exchange_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    _known_exchange(request, actor, exchange_name)
    return collab_json(_store(request).exchanges.get(actor, exchange_name))


@router.put("/c/exchange/{exchange_name}", summary="HMA: enable or disable an exchange")
async def update_exchange(
    exchange_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    _known_exchange(request, actor, exchange_name)
    body = await _json_object(request)
    enabled = body.get("enabled")
    exchanges = _store(request).exchanges
    if enabled is None:
        return collab_json(exchanges.get(actor, exchange_name))
    if not isinstance(enabled, bool):
        raise HmaError(400, f"enabled must be true or false, got {enabled!r}")
    changed = await run_in_threadpool(exchanges.set_enabled, actor, exchange_name, enabled)
    return collab_json(changed)


@router.delete("/c/exchange/{exchange_name}", summary="HMA: remove an exchange (its bank stays)")
def delete_exchange(
    exchange_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, str]:
    exchanges = _store(request).exchanges
    if exchange_name in {e.name for e in exchanges.all(actor)}:  # HMA: 200 when unknown too
        exchanges.remove(actor, exchange_name)
    return {"message": "Exchange deleted"}


@router.get("/c/exchange/{exchange_name}/status", summary="HMA: an exchange's fetch status")
def exchange_status(
    exchange_name: str, request: Request, actor: Actor = Depends(curation_actor)
) -> dict[str, Any]:
    _known_exchange(request, actor, exchange_name)
    return fetch_status(_store(request).exchanges, actor, exchange_name)


@router.post("/dev/run_fetch", summary="HMA: fetch from every enabled exchange now")
async def run_fetch(request: Request, actor: Actor = Depends(curation_actor)) -> dict[str, Any]:
    if not _fetching.acquire(blocking=False):
        raise HmaError(409, "a fetch is running already: try again when it has ended")
    try:
        return await run_in_threadpool(_fetch_round, request, actor)
    finally:
        _fetching.release()


def _fetch_round(request: Request, actor: Actor) -> dict[str, Any]:
    """One round of ``daybreak media exchange sync``: every enabled exchange synced (a
    failure reported in its place), then the confirmed cases' and the queued opinions
    sent back."""
    store = _store(request)
    done = sync_all(store.exchanges, actor, _banks(request, actor))
    confirmed = queue_case_verdicts(store, actor)
    sent = send_opinions(store.exchanges, actor)
    return {
        "message": "Fetched",
        "exchanges": {
            name: {"error": str(r)} if isinstance(r, ExchangeSyncError) else r.counts()
            for name, r in done.items()
        },
        "opinions": {"queued_from_cases": confirmed, **asdict(sent)},
    }
