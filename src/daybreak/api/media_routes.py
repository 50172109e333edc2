"""``POST /v1/media/hash`` and ``POST /v1/media/match``.

Uploads are read from the request stream into memory with a size limit and parsed here
(multipart or a raw body): FastAPI's ``UploadFile`` spools anything over 1 MB to a
temporary file, and media must never touch the disk. Neither the bytes nor the file
name are logged. Hashing runs in a worker thread.

The matcher comes from ``app.state.media_matcher``; when unset, each organisation's is
loaded once from ``$DAYBREAK_MEDIA_HOME`` (entries in ``banks/``, index in ``index/``)
with the banks' metadata in the app's case store (:func:`matcher_of`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from daybreak.api.security import ALL_ROLES, require
from daybreak.media.banks import BankError, BankStore, media_home, normalize_hash
from daybreak.media.hashing import EmptyMedia, MediaError, hash_image_bytes, is_image
from daybreak.media.matcher import MediaMatcher
from daybreak.media.video import hash_video_bytes
from daybreak.plugins import signal_type
from daybreak.store import Actor, TiplineStore
from daybreak.store.auth import Role
from daybreak.store.tables import DEFAULT_ORG

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/media", tags=["media"])
media_actor = require(ALL_ROLES)
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
MATCHER_ACTOR = "media-matcher"  # who quarantines a flooding hash in the audit trail


def max_upload(request: Request) -> int:
    limit = getattr(request.app.state, "media_max_upload", None)
    if limit is None:
        limit = int(os.environ.get("DAYBREAK_MEDIA_MAX_UPLOAD", DEFAULT_MAX_UPLOAD))
    return int(limit)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload larger than the limit of {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, f"upload larger than the limit of {limit} bytes")
    except (ClientDisconnect, anyio.BrokenResourceError, anyio.EndOfStream):
        # A client that goes away mid-upload is routine (a closed tab, a dropped mobile
        # link): one line, not the traceback an unhandled exception gets. The answer is
        # sent to nobody; it only ends the request without an error.
        received = len(body)
        del body
        log.info("media upload: client disconnected after %d bytes; nothing hashed", received)
        raise HTTPException(400, "client disconnected before the upload finished") from None
    return bytes(body)


def multipart_parts(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytearray]]:
    """Every part of a multipart body: its headers (lower-case names) and its bytes,
    parsed in memory (never spooled to a file)."""
    parts: list[tuple[dict[str, str], bytearray]] = []
    header = {"field": bytearray(), "value": bytearray()}

    def begin() -> None:
        parts.append(({}, bytearray()))

    def field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def header_end() -> None:
        parts[-1][0][header["field"].decode("latin-1").lower()] = header["value"].decode("latin-1")
        header["field"], header["value"] = bytearray(), bytearray()

    def data(chunk: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(chunk[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": begin,
            "on_header_field": field,
            "on_header_value": value,
            "on_header_end": header_end,
            "on_part_data": data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:
        raise HTTPException(400, "malformed multipart body") from None
    return parts


def _multipart_file(body: bytes, boundary: bytes) -> bytes:
    """The first part of a multipart body that carries a file (or the only part)."""
    parts = multipart_parts(body, boundary)
    for headers, content in parts:
        if "filename=" in headers.get("content-disposition", "") or len(parts) == 1:
            return bytes(content)
    raise HTTPException(400, "multipart body has no file part (send the file as 'file')")


def _hash(data: bytes, fps: float, dihedral: bool) -> dict[str, Any]:
    if not data:
        raise EmptyMedia("empty upload (0 bytes), expected an image or a video")
    if is_image(data):
        return hash_image_bytes(data, "upload", dihedral=dihedral).to_dict()
    return hash_video_bytes(data, "upload", fps=fps).to_dict()


@router.post("/hash", summary="Hash an uploaded image or video (kept in memory only)")
async def hash_media(
    request: Request,
    fps: float = 1.0,
    dihedral: bool = False,
    _: Actor = Depends(media_actor),
) -> dict[str, Any]:
    if not 0 < fps <= 30:
        raise HTTPException(422, "fps must be in (0, 30]")
    body = await read_body(request, max_upload(request))
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise HTTPException(400, "multipart body without a boundary")
        body = _multipart_file(body, boundary)
    try:
        result = await run_in_threadpool(_hash, body, fps, dihedral)
    except MediaError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    finally:
        del body  # drop our reference to the media at once
    return result


class HashQuery(BaseModel):
    type: str = Field(description="a registered hash type (`daybreak.signal_types`)")
    value: str

    @field_validator("type")
    @classmethod
    def _registered(cls, v: str) -> str:
        return signal_type(v, "type").name

    @field_validator("value")
    @classmethod
    def _hex(cls, v: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind is None:
            return v
        try:
            return normalize_hash(kind, v, "value")[1]
        except BankError as exc:
            raise ValueError(str(exc)) from None


class MatchRequest(BaseModel):
    hashes: list[HashQuery] = Field(min_length=1, max_length=10_000)
    max_distance: int | None = Field(default=None, ge=0, le=64)
    # where the media was seen, echoed back so a match becomes a signal on it
    service: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, max_length=500)
    case_id: str | None = Field(default=None, max_length=200)


def media_home_of(request: Request) -> Path:
    """The media folder of this app: ``app.state.media_home`` when set (tests, embedded
    apps), else $DAYBREAK_MEDIA_HOME, else ./daybreak-media."""
    fixed: Path | None = getattr(request.app.state, "media_home", None)
    return fixed if fixed is not None else media_home()


def _open_banks(request: Request, home: Path, actor: Actor | None) -> BankStore:
    """The banks of the caller's organisation: in the app's case store when it has one
    (the same rows the console and the CLI change), else the folder on its own."""
    store: TiplineStore | None = getattr(request.app.state, "store", None)
    if store is None:
        return BankStore(home / "banks")
    org = actor.org_id if actor is not None else DEFAULT_ORG
    return store.banks.open(home / "banks", Actor(MATCHER_ACTOR, Role.PLATFORM, org_id=org))


def matcher_of(request: Request, actor: Actor | None = None) -> MediaMatcher:
    """``app.state.media_matcher`` when set (one for every caller), else the matcher of
    the caller's organisation, loaded once from ``$DAYBREAK_MEDIA_HOME`` (banks in
    ``banks/``, index in ``index/``); it follows bank changes by itself."""
    fixed: MediaMatcher | None = getattr(request.app.state, "media_matcher", None)
    if fixed is not None:
        return fixed
    matchers: dict[str, MediaMatcher] | None = getattr(request.app.state, "media_matchers", None)
    if matchers is None:
        matchers = request.app.state.media_matchers = {}
    org = actor.org_id if actor is not None else DEFAULT_ORG
    matcher = matchers.get(org)
    if matcher is None:
        home = media_home_of(request)
        index_dir = home / "index"
        try:
            store = _open_banks(request, home, actor)
            matcher = (
                MediaMatcher.load(store, index_dir, warm_in_background=True)
                if org == DEFAULT_ORG and (index_dir / "meta.json").exists()
                else MediaMatcher.build(store)
            )
        except (ValueError, BankError) as exc:
            raise HTTPException(503, f"media index unavailable: {exc}") from None
        matchers[org] = matcher
    return matcher


@router.post("/match", summary="Match hashes against the enabled hash lists")
async def match_media(
    req: MatchRequest,
    request: Request,
    actor: Actor = Depends(media_actor),
) -> dict[str, Any]:
    matcher = matcher_of(request, actor)
    queries = [(h.type, h.value) for h in req.hashes]
    matches = await run_in_threadpool(matcher.match, queries)
    results: list[dict[str, Any]] = [
        {"query": i, "type": t, "value": v, "matches": []} for i, (t, v) in enumerate(queries)
    ]
    for m in matches:
        if req.max_distance is not None and m.distance > req.max_distance:
            continue
        row = m.to_dict()
        row.pop("query")
        results[m.query]["matches"].append(row)
    seen = {"service": req.service, "account_id": req.account_id, "case_id": req.case_id}
    return {
        "results": results,
        "matched": sum(any(r["status"] == "match" for r in x["matches"]) for x in results),
        "seen_with": {k: v for k, v in seen.items() if v is not None},
    }
