"""Keep banks current from the hash exchanges HMA uses, through python-threatexchange's
signal-exchange API classes (``threatexchange.exchanges``): NCMEC hash sharing
(:class:`NCMECSignalExchangeAPI`), Meta ThreatExchange
(:class:`FBThreatExchangeSignalExchangeAPI`) and StopNCII
(:class:`StopNCIISignalExchangeAPI`).

A sync walks the client's ``fetch_iter`` from the stored checkpoint, a few pages ahead
in a thread (StopNCII's pages are read straight from its answers, as ``fetch_iter``
would: :func:`_stopncii_pages`). Pages (each a ``FetchDelta``: item key -> item, or None
for a deletion) are gathered into blocks of at least :data:`BLOCK_ITEMS` items (more as
the items stored grow: :func:`block_items`), and each block is applied in two steps:

1. the block's items and the checkpoint after its last page are stored in one
   transaction, which also works out what they change in the bank against the items
   stored before (``store.exchanges.store_block``): hashes no item listed yet are added,
   hashes no item lists any more are removed (an update replaces its item's hashes; a
   deletion drops them);
2. those changes are gathered, and written to the bank in batches (:class:`_BankChanges`;
   adds and removes are idempotent).

A failure of the exchange stores the pages fetched before it; a crash loses at most the
block being gathered. Either way the next sync resumes at the last stored checkpoint, and
replaying a page changes nothing twice. Each sync is audited with its counts (and the
error that stopped it).

Credentials are read at sync time from the environment variable or the secret file the
exchange names (never stored, never logged: the values are masked in every log record
of the HTTP stack while a sync runs, and in every error kept or shown).

Opinions (seen / true positive / false positive) go back through the same clients:
ThreatExchange reactions (``SAW_THIS_TOO``, ``HELPFUL``, ``NOT_HELPFUL`` on the
descriptor), NCMEC feedback (affirmative / negative on the entry's fingerprint; NCMEC
has no "seen") and StopNCII feedback (``PendingReview``, ``Blocked``, ``NotBlocked``). A failed delivery is retried with backoff and dead-lettered after
:data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import enum
import gc
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, cast

import orjson
import polars as pl
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.ncmec import hash_api as ncmec_api
from threatexchange.exchanges.clients.stopncii import api as stopncii_api
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.fetch_state import FetchCheckpointBase, FetchDelta
from threatexchange.exchanges.impl import fb_threatexchange_api as tx
from threatexchange.exchanges.impl import ncmec_api as ncmec
from threatexchange.exchanges.impl import stop_ncii_api as stopncii
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.signal_base import SignalType

from daybreak.connectors.cybertip_api import read_private_file
from daybreak.media.bank_segments import KEYS
from daybreak.media.banks import ENTRY_SCHEMA, BankError, BankStore, normalize_hash
from daybreak.plugins import signal_type
from daybreak.store import TiplineStore
from daybreak.store.auth import Actor
from daybreak.store.repositories.exchanges import (
    DEAD,
    QUEUED,
    SENT,
    UNSUPPORTED,
    Exchange,
    ExchangeError,
    ExchangeRepository,
    ItemHash,
    Opinion,
)

log = logging.getLogger(__name__)

SIGNAL_TYPES: Sequence[type[SignalType]] = (PdqSignal, VideoMD5Signal)
SIGNAL_NAMES = {st: st.get_name() for st in SIGNAL_TYPES}  # get_name() parses the class name
_HASH_TYPES = {name: signal_type(name) for name in SIGNAL_NAMES.values()}
MAX_ATTEMPTS = 5  # deliveries of an opinion before it is dead-lettered
RETRY_BASE = timedelta(minutes=1)  # doubled after each failure
# loggers of the HTTP stack that may show a URL or header holding a secret
HTTP_LOGGERS = ("", "urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests")
AnyApi = SignalExchangeAPI[Any, Any, Any, Any, Any]


class ExchangeSyncError(RuntimeError):
    """A sync or a delivery that failed (the message never holds a credential)."""


# -- credentials ---------------------------------------------------------------------


def read_secret(exchange: Exchange, env: Mapping[str, str] | None = None) -> str:
    """The exchange's credentials: its environment variable, else its secret file
    (readable by its owner only). The value is never echoed in an error."""
    env = os.environ if env is None else env
    value = env.get(exchange.credentials_env, "").strip()
    if value:
        return value
    if not exchange.credentials_file:
        raise ExchangeSyncError(
            f"exchange {exchange.name}: no credentials: set {exchange.credentials_env} "
            "or give the exchange a --credentials-file"
        )
    path = Path(exchange.credentials_file).expanduser()
    value = read_private_file(path, "credentials", ExchangeSyncError)
    if not value:
        raise ExchangeSyncError(f"{path}: the credentials file is empty")
    return value


def _secret_parts(secret: str) -> list[str]:
    """The secret and the pieces of it a request carries on its own (a password, the
    secret half of an app token), longest first."""
    parts = {secret, *secret.replace("|", ":").replace(",", ":").split(":")}
    return sorted((p for p in parts if len(p) >= 4), key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
        quoted = s.replace("|", "%7C")
        if quoted != s:
            text = text.replace(quoted, "***")
    return text


class _Redacting(logging.Filter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


class _CollectorPause:
    """How many syncs run, and whether the collector was on before the first."""

    lock = threading.Lock()
    syncs = 0
    resume = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while syncs run: a sync allocates a few
    objects per hash and keeps most of them, so the collector kept rescanning them
    (~30 % of a sync's CPU time, benchmarks/exchange_sync.py). Reference
    counting still frees everything else; the collector is on again once the last
    concurrent sync ends (if it was on before)."""
    state = _CollectorPause
    with state.lock:
        if state.syncs == 0:
            state.resume = gc.isenabled()
            gc.disable()
        state.syncs += 1
    try:
        yield
    finally:
        with state.lock:
            state.syncs -= 1
            if state.syncs == 0 and state.resume:
                gc.enable()


@contextmanager
def _masked(secrets: Sequence[str]) -> Iterator[None]:
    """Mask the secrets in the records of the HTTP stack's loggers (urllib3 logs each
    request line, ThreatExchange's has the token in its query) while the block runs."""
    flt = _Redacting(secrets)
    loggers = [logging.getLogger(name) for name in HTTP_LOGGERS]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


# -- the exchanges' clients ----------------------------------------------------------


class _NCMEC(ncmec.NCMECSignalExchangeAPI):
    """NCMEC's client, optionally at another base URL (a proxy; the tests' server)."""

    endpoint: str = ""

    def get_client(self, environment: ncmec_api.NCMECEnvironment) -> ncmec_api.NCMECHashAPI:
        client = super().get_client(environment)
        if self.endpoint:
            client._base_url = self.endpoint.rstrip("/")
        return client


def _open_ncmec(name: str, config: Mapping[str, Any], secret: str) -> AnyApi:
    env = config.get("environment", "Industry")
    try:
        environment = ncmec_api.NCMECEnvironment[env]
    except KeyError:
        known = ", ".join(e.name for e in ncmec_api.NCMECEnvironment)
        raise ExchangeError(f"exchange {name}: NCMEC environment {env!r}: one of {known}") from None
    collab = ncmec.NCMECCollabConfig(
        name=name,
        environment=environment,
        only_esp_ids={int(i) for i in config.get("only_esp_ids", [])},
    )
    creds = ncmec.NCMECCredentials._from_str(secret)
    if not creds._are_valid():
        raise ExchangeSyncError(f"exchange {name}: NCMEC credentials must be user:password")
    client = _NCMEC(collab, creds.user, creds.password)
    client.endpoint = str(config.get("endpoint", ""))
    return client


def _open_tx(name: str, config: Mapping[str, Any], secret: str) -> AnyApi:
    try:
        group = int(config["privacy_group"])
    except (KeyError, TypeError, ValueError):
        raise ExchangeError(f"exchange {name}: privacy_group must be a number") from None
    creds = tx.FBThreatExchangeCredentials._from_str(secret)
    if creds is None or not creds._are_valid():
        raise ExchangeSyncError(f"exchange {name}: a ThreatExchange token is appid|secret")
    client = ThreatExchangeAPI(creds.api_token, endpoint_override=config.get("endpoint"))
    return tx.FBThreatExchangeSignalExchangeAPI(
        client, tx.FBThreatExchangeCollabConfig(name=name, privacy_group=group)
    )


def _ncmec_checkpoint(data: Mapping[str, Any]) -> FetchCheckpointBase:
    paging = data.get("paging_info")
    info = ncmec._NCMECPagingInfo(**paging) if paging else None
    return ncmec.NCMECCheckpoint(int(data["get_entries_max_ts"]), info)


def _tx_checkpoint(data: Mapping[str, Any]) -> FetchCheckpointBase:
    return tx.FBThreatExchangeCheckpoint(**data)


NCMEC_FINGERPRINT = {"pdq": "PDQ", "video_md5": "MD5"}  # signal type -> NCMEC's name


def _ncmec_ref(value: Any, signal: type[SignalType], raw: str, meta: Any) -> str:
    return f"{value.member_id}/{value.id}/{NCMEC_FINGERPRINT[SIGNAL_NAMES[signal]]}"


def _tx_ref(value: Any, signal: type[SignalType], raw: str, meta: Any) -> str:
    """The descriptor an opinion reacts to: the first real one (not a bare reaction)."""
    ids = [o.descriptor_id for o in meta.opinions if o.descriptor_id and o.descriptor_id > 0]
    return str(ids[0]) if ids else ""


def _send_ncmec(client: AnyApi, ref: str, verdict: str, config: Mapping[str, Any]) -> bool:
    assert isinstance(client, _NCMEC)
    esp, entry, kind = ref.split("/")
    fingerprint = ncmec_api.FingerprintType(kind)
    api = client.get_client(client.collab.environment)
    if verdict == "true_positive":
        api.submit_upvote(int(esp), entry, fingerprint)
    elif verdict == "false_positive":
        reason = str(config.get("negative_reason") or "") or _only_reason(api, fingerprint)
        api.submit_feedback(int(esp), entry, fingerprint, ncmec_api.FeedbackType.downvote, reason)
    else:
        return False  # NCMEC has no "seen" feedback
    return True


def _only_reason(api: ncmec_api.NCMECHashAPI, fingerprint: ncmec_api.FingerprintType) -> str:
    """NCMEC's one negative-feedback reason for the fingerprint type. The client's own
    ``feedback_reasons`` looks for ``<availableFeedbackReasons>`` *under* the root, but
    the documented answer (the client's test data) has it *as* the root, so the reasons
    are read here from either shape; several reasons need ``negative_reason`` set."""
    root = api._get(ncmec_api.NCMECEndpoint.feedback, path=f"{fingerprint.value}/reasons")
    guids = sorted({r.get("guid", "") for r in root.iter("reason")} - {""})
    if len(guids) != 1:
        raise ExchangeSyncError(
            f"NCMEC offers {len(guids)} negative-feedback reasons for {fingerprint.value}: "
            f"set the exchange's negative_reason to one of {', '.join(guids) or 'none'}"
        )
    return guids[0]


TX_REACTIONS = {"seen": "SAW_THIS_TOO", "true_positive": "HELPFUL", "false_positive": "NOT_HELPFUL"}


def _send_tx(client: AnyApi, ref: str, verdict: str, config: Mapping[str, Any]) -> bool:
    assert isinstance(client, tx.FBThreatExchangeSignalExchangeAPI)
    if not ref:
        return False  # only reactions of others listed it: no descriptor to react to
    react: Any = client.client.react_to_threat_descriptor  # untyped upstream
    _, error, body = react(int(ref), TX_REACTIONS[verdict])
    if error is not None or not isinstance(body, dict) or body.get("success") is not True:
        raise ExchangeSyncError(f"ThreatExchange refused the reaction: {body!r}"[:200])
    return True


class _StopNCII(stopncii.StopNCIISignalExchangeAPI):
    """StopNCII's client, with withdrawn and deleted hashes fetched as deletions: the
    upstream mapping compares the *hash value* with those statuses (so it never
    deletes); here a record whose ``hashStatus`` is Withdrawn or Deleted is one.

    Pages are fetched by the client's own request (``StopNCIIAPI._get``: its keys,
    timeouts and retries) but read here, record by record, into the client's
    dataclasses: the client's ``fetch_hashes`` builds each through ``dacite``, which
    took most of a large sync's time (docs/detectors/media.md)."""

    def fetch_iter(
        self, _supported_signal_types: Sequence[type[SignalType]], checkpoint: Any
    ) -> Iterator[Any]:
        for body in _stopncii_bodies(self.api, checkpoint):
            result = _stopncii_response(body, _stopncii_records(body))
            updates: dict[tuple[str, str], Any] = {}
            for record in result.hashRecords:
                (kind, value), meta = stopncii._get_delta_mapping(record)
                if kind:
                    updates[kind, value] = None if record.hashStatus in _STOPNCII_GONE else meta
            yield FetchDelta(updates, stopncii.StopNCIICheckpoint.from_stopncii_fetch(result))

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: Sequence[type[SignalType]],
        collab: Any,
        fetched: Mapping[tuple[str, str], Any],
    ) -> dict[type[SignalType], dict[str, Any]]:
        """The upstream conversion, with the signal types' names looked up once: the
        upstream one derives them from the class names (a regular expression each)
        on every call, and a sync calls it once per item."""
        by_name = {SIGNAL_NAMES.get(st) or st.get_name(): st for st in signal_types}
        converted: dict[type[SignalType], dict[str, Any]] = {}
        for (type_name, value), meta in fetched.items():
            signal = by_name.get(type_name)
            if signal is None or meta is None:
                continue
            try:
                signal.validate_signal_str(value)
            except ValueError:
                log.warning("StopNCII: invalid %s hash %.100s", type_name, value)
                continue
            converted.setdefault(signal, {})[value] = meta
        return converted


STOPNCII_PAGE = 800  # the client's own page size


def _stopncii_bodies(api: stopncii_api.StopNCIIAPI, checkpoint: Any) -> Iterator[Any]:
    """The decoded ``FetchHashes`` answers from ``checkpoint`` on (None: the start), page
    after page, as the client's ``fetch_hashes`` asks for them."""
    start = checkpoint.update_time if checkpoint is not None else api.DEFAULT_START_TIME
    next_page, more = "", True
    while more:
        params: dict[str, Any] = {"startTimestamp": start, "pageSize": STOPNCII_PAGE}
        if next_page:
            params["nextPageToken"] = next_page
        body = _stopncii_get(api, stopncii_api.StopNCIIEndpoint.FetchHashes, params)
        more, next_page = bool(body["hasMoreRecords"]), body.get("nextPageToken") or ""
        yield body


def _stopncii_response(
    body: Mapping[str, Any], records: list[stopncii_api.StopNCIIHashRecord]
) -> stopncii_api.FetchHashesResponse:
    return stopncii_api.FetchHashesResponse(
        count=int(body["count"]),
        nextPageToken=body.get("nextPageToken"),
        nextSetTimestamp=int(body["nextSetTimestamp"]),
        hasMoreRecords=bool(body["hasMoreRecords"]),
        hashRecords=records,
    )


_RECORD_ERRORS = (KeyError, ValueError, TypeError, AttributeError)


def _stopncii_records(body: Mapping[str, Any]) -> list[stopncii_api.StopNCIIHashRecord]:
    """A page's records read into the client's dataclasses, as its ``fetch_hashes``
    does: a record that does not fit is logged and skipped, as there."""
    records = []
    for data in body.get("hashRecords", []):
        try:
            records.append(_stopncii_record(data))
        except _RECORD_ERRORS as exc:
            log.error("StopNCII record skipped (%s): %r", exc, data)
    return records


def _stopncii_get(
    api: stopncii_api.StopNCIIAPI, endpoint: stopncii_api.StopNCIIEndpoint, params: dict[str, Any]
) -> Any:
    """``StopNCIIAPI._get`` (the client's own session: its keys, timeouts and retries),
    with the answer decoded by orjson (the client's ``response.json()``: ~5x slower)."""
    url = "/".join((api._base_url, endpoint.value))
    with api._get_session(endpoint) as session:
        response = session.get(url, params=params)
        response.raise_for_status()
        return orjson.loads(response.content)


def _by_value(kind: type[enum.Enum]) -> dict[Any, Any]:
    """An enum's members by value: a dict lookup, where calling the enum costs ~20x."""
    return {m.value: m for m in kind}


_STOPNCII_STATUS = _by_value(stopncii_api.StopNCIICaseStatus)
_STOPNCII_TYPE = _by_value(stopncii_api.StopNCIISignalType)
_STOPNCII_FEEDBACK = _by_value(stopncii_api.StopNCIICSPFeedbackValue)
_STOPNCII_GONE = (
    stopncii_api.StopNCIICaseStatus.Withdrawn,
    stopncii_api.StopNCIICaseStatus.Deleted,
)


def _stopncii_fields(data: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(signal type value, hash value, whether withdrawn or deleted) of a record that
    fits the client's :class:`StopNCIIHashRecord`; KeyError, TypeError... if not."""
    status, value, modified = _STOPNCII_STATUS, data["hashValue"], data["lastModtimestamp"]
    if not isinstance(value, str) or type(modified) is not int:
        raise TypeError("hashValue must be text and lastModtimestamp an integer")
    kind, state = data["signalType"], status[data["hashStatus"]]
    _STOPNCII_TYPE[kind]  # a KeyError for a type the client does not know
    for f in data.get("CSPFeedbacks") or ():
        _STOPNCII_FEEDBACK[f["feedbackValue"]]
        frozenset(f.get("tags") or ())
    for v in (data.get("caseNumbers") or {}).values():
        status[v]
    return kind, value, state in _STOPNCII_GONE


def _stopncii_record(data: Mapping[str, Any]) -> stopncii_api.StopNCIIHashRecord:
    _stopncii_fields(data)
    status, value, modified = _STOPNCII_STATUS, data["hashValue"], data["lastModtimestamp"]
    feedbacks = [
        stopncii_api.StopNCIICSPFeedback(
            _STOPNCII_FEEDBACK[f["feedbackValue"]],
            set(f.get("tags") or ()),
            str(f.get("source", "")),
        )
        for f in data.get("CSPFeedbacks") or ()
    ]
    cases = data.get("caseNumbers") or {}  # some answers write an empty one as []
    return stopncii_api.StopNCIIHashRecord(
        lastModtimestamp=modified,
        signalType=_STOPNCII_TYPE[data["signalType"]],
        hashValue=value,
        hashStatus=status[data["hashStatus"]],
        caseNumbers={str(k): status[v] for k, v in cases.items()},
        CSPFeedbacks=feedbacks,
    )


def _open_stopncii(name: str, config: Mapping[str, Any], secret: str) -> AnyApi:
    """Credentials ``fetch_key,subscription_key[,feedback_key]`` (the feedback endpoint
    has its own function key; without it opinions cannot be sent)."""
    parts = [p.strip() for p in secret.split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ExchangeSyncError(
            f"exchange {name}: StopNCII credentials are fetch_key,subscription_key[,feedback_key]"
        )
    extra = {stopncii_api.StopNCIIEndpoint.SubmitFeedback: parts[2]} if len(parts) == 3 else {}
    client = stopncii_api.StopNCIIAPI(
        parts[1], parts[0], additional_function_keys=extra,
        base_url_override=str(config.get("endpoint") or "") or None,
    )  # fmt: skip
    collab = CollaborationConfigBase(name=name, api="stop_ncii", enabled=True)
    return _StopNCII(collab, client)


def _stopncii_checkpoint(data: Mapping[str, Any]) -> FetchCheckpointBase:
    return stopncii.StopNCIICheckpoint(**data)


def _stopncii_pages(kind: ExchangeApi, client: AnyApi, checkpoint: Any) -> Iterator[_Page]:
    """``client.fetch_iter``'s pages as a sync stores them (:func:`page_items`), read
    straight from each decoded answer: what the client's record dataclasses, its delta
    mapping, merge and conversion make of a record (the same checks, the same records
    skipped; tests/connectors/test_hash_exchange.py compares the two), without their
    Python objects per record: ~5 µs of CPU a record instead of ~20
    (docs/detectors/media.md, "An exchange sync end to end")."""
    assert isinstance(client, _StopNCII)
    names = {t.value: name for t, name in stopncii._type_mapping().items()}
    signals = {SIGNAL_NAMES[st]: st for st in SIGNAL_TYPES}
    for body in _stopncii_bodies(client.api, checkpoint):
        updates: dict[str, list[ItemHash] | None] = {}
        for data in body.get("hashRecords", []):
            try:
                type_value, raw, gone = _stopncii_fields(data)
            except _RECORD_ERRORS as exc:
                log.error("StopNCII record skipped (%s): %r", exc, data)
                continue
            name = names[type_value]
            key = (name, raw)
            found: list[ItemHash] | None = None if gone else []
            signal = signals.get(name)
            if found is not None and signal is not None:
                try:
                    signal.validate_signal_str(raw)
                except ValueError:
                    log.warning("StopNCII: invalid %s hash %.100s", name, raw)
                else:
                    _add_hash(found, kind, signal, raw, None, key)
            updates[_key(key)] = found
        result = _stopncii_response(body, [])
        yield _Page(
            updates, _checkpoint_text(stopncii.StopNCIICheckpoint.from_stopncii_fetch(result))
        )


STOPNCII_TYPES = {"pdq": "ImagePDQ", "video_md5": "VideoMD5"}
STOPNCII_FEEDBACK = {"seen": "PendingReview", "true_positive": "Blocked", "false_positive": "NotBlocked"}  # fmt: skip


def _stopncii_ref(value: Any, signal: type[SignalType], raw: str, meta: Any) -> str:
    """StopNCII takes feedback by hash value: the ref is ``<its type>:<the hash>``."""
    return f"{STOPNCII_TYPES[SIGNAL_NAMES[signal]]}:{raw}"


def _send_stopncii(client: AnyApi, ref: str, verdict: str, config: Mapping[str, Any]) -> bool:
    assert isinstance(client, _StopNCII)
    kind, _, value = ref.partition(":")
    client.api.submit_feedback(
        stopncii_api.StopNCIISignalType(kind),
        value,
        stopncii_api.StopNCIICSPFeedbackValue(STOPNCII_FEEDBACK[verdict]),
    )
    return True


@dataclass(frozen=True)
class ExchangeApi:
    """How Daybreak drives one python-threatexchange exchange API."""

    name: str  # the API's get_name()
    credentials_env: str  # the default environment variable of its credentials
    credentials_help: str
    open: Callable[[str, Mapping[str, Any], str], AnyApi]
    checkpoint: Callable[[Mapping[str, Any]], FetchCheckpointBase]
    ref: Callable[[Any, type[SignalType], str, Any], str]
    send: Callable[[AnyApi, str, str, Mapping[str, Any]], bool]
    required: tuple[str, ...] = field(default=())  # config keys that must be given
    opinions: Mapping[str, str] = field(default_factory=dict)  # verdict -> what is sent
    # every item is one hash keyed by (signal type name, hash): pages convert at once
    single_hash_items: bool = False
    # the pages a sync stores, fetched and read without fetch_iter's objects per item
    pages: Callable[[ExchangeApi, AnyApi, Any], Iterator[_Page]] | None = None


APIS: dict[str, ExchangeApi] = {
    "ncmec": ExchangeApi(
        "ncmec", "DAYBREAK_NCMEC_HASHSHARING", "user:password", _open_ncmec,
        _ncmec_checkpoint, _ncmec_ref, _send_ncmec, ("environment",),
        {"true_positive": "affirmative feedback on the entry's fingerprint",
         "false_positive": "negative feedback on the entry's fingerprint"},
    ),
    "fb_threatexchange": ExchangeApi(
        "fb_threatexchange", "DAYBREAK_THREATEXCHANGE_TOKEN", "appid|secret", _open_tx,
        _tx_checkpoint, _tx_ref, _send_tx, ("privacy_group",),
        {v: f"a {r} reaction on the listing descriptor" for v, r in TX_REACTIONS.items()},
    ),
    "stop_ncii": ExchangeApi(
        "stop_ncii", "DAYBREAK_STOPNCII_KEYS", "fetch_key,subscription_key[,feedback_key]",
        _open_stopncii, _stopncii_checkpoint, _stopncii_ref, _send_stopncii,
        opinions={v: f"{f} feedback on the hash" for v, f in STOPNCII_FEEDBACK.items()},
        single_hash_items=True, pages=_stopncii_pages,
    ),
}  # fmt: skip


def exchange_api(name: str) -> ExchangeApi:
    if name not in APIS:
        raise ExchangeError(f"unknown exchange API {name!r}: one of {', '.join(APIS)}")
    return APIS[name]


def check_config(api: str, name: str, config: Mapping[str, Any]) -> None:
    """Refuse a configuration the API cannot use, before it is stored."""
    kind = exchange_api(api)
    missing = [k for k in kind.required if k not in config]
    if missing:
        raise ExchangeError(f"exchange {name}: {api} needs {', '.join(missing)}")
    dummy = {"fb_threatexchange": "00000000|" + "x" * 20, "stop_ncii": "k,s"}.get(api, "u:p")
    kind.open(name, config, dummy)


# -- syncing -------------------------------------------------------------------------


@dataclass
class SyncReport:
    exchange: str
    pages: int = 0
    items_updated: int = 0
    items_deleted: int = 0
    hashes_added: int = 0
    hashes_removed: int = 0
    restarted: bool = False  # the checkpoint was stale: fetched from the start
    reconciled: int = 0  # bank changes a sync that died before writing them left behind
    added: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        # not asdict(): it would deep-copy `added`, a sync's every new hash
        skip = ("exchange", "added")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


def _key(key: Any) -> str:
    """A fetched item's key as stored: NCMEC's are text, ThreatExchange's and StopNCII's
    a (type, indicator) pair, stored as ``json.dumps`` writes it (built here from json's
    own string encoder: ``json.dumps`` per item was a tenth of a sync's time)."""
    if isinstance(key, str):
        return key
    if type(key) is tuple and len(key) == 2 and type(key[0]) is str and type(key[1]) is str:
        return f"[{encode_basestring_ascii(key[0])}, {encode_basestring_ascii(key[1])}]"
    return json.dumps(list(key))


def item_hashes(kind: ExchangeApi, client: AnyApi, key: Any, value: Any) -> list[ItemHash] | None:
    """The hashes a fetched item lists (None: the exchange deleted it), by the client's
    own merge and conversion (NCMEC's ESP filter, ThreatExchange's indicator types)."""
    if value is None:
        return None
    value = type(client).fetch_value_merge(None, value)
    if value is None:
        return None
    collab = cast(Any, client).collab  # every exchange API keeps its collaboration
    converted = type(client).naive_convert_to_signal_type(SIGNAL_TYPES, collab, {key: value})
    found = []
    for signal, listed in converted.items():
        for raw, meta in listed.items():
            usable = _usable(signal, raw, key)
            if usable is not None:
                found.append(ItemHash(*usable, kind.ref(value, signal, raw, meta)))
    return found


def _usable(signal: type[SignalType], raw: str, key: Any) -> tuple[str, str] | None:
    """(hash type, normalised hash) of a converted hash, None (logged) if unusable."""
    try:
        return normalize_hash(SIGNAL_NAMES[signal], raw, "exchange item")
    except BankError:
        log.warning("exchange item %s: hash of type %s not usable", key, SIGNAL_NAMES[signal])
        return None


def page_items(
    kind: ExchangeApi, client: AnyApi, updates: Mapping[Any, Any]
) -> dict[str, list[ItemHash] | None]:
    """A fetched page's items as stored: each item's hashes (None: deleted)."""
    if kind.single_hash_items:
        return _single_hash_items(kind, client, updates)
    return {_key(k): item_hashes(kind, client, k, v) for k, v in updates.items()}


def _single_hash_items(
    kind: ExchangeApi, client: AnyApi, updates: Mapping[Any, Any]
) -> dict[str, list[ItemHash] | None]:
    """:func:`item_hashes` of a whole page at once, for an exchange whose every item is
    one hash keyed by (signal type name, hash) (StopNCII): the client's merge per item,
    its conversion once for the page (the hashes it keeps are the items that list one:
    once per item, it was a fifth of a sync's time)."""
    merge = type(client).fetch_value_merge
    values = {k: merge(None, v) if v is not None else None for k, v in updates.items()}
    items: dict[Any, list[ItemHash] | None] = {
        k: None if v is None else [] for k, v in values.items()
    }
    live = {k: v for k, v in values.items() if v is not None}
    collab = cast(Any, client).collab
    converted = type(client).naive_convert_to_signal_type(SIGNAL_TYPES, collab, live)
    for signal, listed in converted.items():
        name = SIGNAL_NAMES[signal]
        for raw, meta in listed.items():
            key = (name, raw)
            found = items.get(key)
            if found is None:
                continue
            _add_hash(found, kind, signal, raw, meta, key, live[key])
    return {_key(k): v for k, v in items.items()}


def _add_hash(
    found: list[ItemHash],
    kind: ExchangeApi,
    signal: type[SignalType],
    raw: str,
    meta: Any,
    key: Any,
    value: Any = None,
) -> None:
    """Append the hash ``raw`` (converted to ``signal``) of item ``key`` to ``found``,
    normalised (unless unusable: logged)."""
    name = SIGNAL_NAMES[signal]
    hash_type = _HASH_TYPES[name]
    try:
        normal = hash_type.normalize(raw)
    except ValueError:
        log.warning("exchange item %s: hash of type %s not usable", key, name)
        return
    found.append(ItemHash(hash_type.name, normal, kind.ref(value, signal, raw, meta)))


def sync_exchange(
    exchanges: ExchangeRepository,
    actor: Actor,
    banks: BankStore,
    name: str,
    env: Mapping[str, str] | None = None,
) -> SyncReport:
    """Fetch what changed at the exchange since the stored checkpoint and apply it to
    the exchange's bank (see the module docstring)."""
    exchange = exchanges.get(actor, name)
    kind = exchange_api(exchange.api)
    report = SyncReport(name)
    exchanges.fetch_started(actor, name)
    try:
        secret = read_secret(exchange, env)
    except ExchangeSyncError as exc:
        exchanges.record_sync(actor, name, {**report.counts(), "error": str(exc)[:300]})
        raise
    secrets = _secret_parts(secret)
    with _masked(secrets), _collector_paused():
        try:
            _fetch(exchanges, actor, banks, exchange, kind, secret, report)
        except (ExchangeError, BankError) as exc:
            exchanges.record_sync(actor, name, {**report.counts(), "error": str(exc)[:300]})
            raise
        except Exception as exc:  # the network, the exchange, the client: all resumable
            error = redact(f"{type(exc).__name__}: {exc}", secrets)[:300]
            exchanges.record_sync(actor, name, {**report.counts(), "error": error})
            raise ExchangeSyncError(
                f"exchange {name}: sync stopped after {report.pages} page(s): {error} "
                "(the next sync resumes from the last page stored)"
            ) from None
    exchanges.record_sync(actor, name, report.counts())
    return report


def _fetch(
    exchanges: ExchangeRepository,
    actor: Actor,
    banks: BankStore,
    exchange: Exchange,
    kind: ExchangeApi,
    secret: str,
    report: SyncReport,
) -> None:
    client = kind.open(exchange.name, exchange.config, secret)
    checkpoint = kind.checkpoint(json.loads(exchange.checkpoint)) if exchange.checkpoint else None
    if checkpoint is not None and checkpoint.is_stale():
        exchanges.reset(actor, exchange.name)  # deletions may be gone: refetch all
        checkpoint, report.restarted = None, True
    source = f"exchange {exchange.name} ({exchange.api})"
    banks.create(exchange.bank, source=source)
    pending = _BankChanges(exchanges, actor, banks, exchange)
    if not exchange.bank_current:
        pending.reconcile(report)  # the last sync died between its pages and the bank
    block = _Block()
    stored = exchanges.fetch_state(actor, exchange.name).items
    try:
        if kind.pages is not None:
            fetched = kind.pages(kind, client, checkpoint)
        else:
            fetched = _converted(kind, client, client.fetch_iter(SIGNAL_TYPES, checkpoint))
        with _prefetched(fetched) as pages:
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    break
                except Exception:
                    # the exchange failed: the pages fetched before it are kept
                    _store_block(exchanges, actor, exchange, block, pending, report)
                    raise
                block.take(page)
                if block.items >= block_items(stored):
                    _store_block(exchanges, actor, exchange, block, pending, report)
                    stored += block.items
                    block = _Block()
        _store_block(exchanges, actor, exchange, block, pending, report)
    finally:
        pending.flush()  # what the stored pages changed reaches the bank, even on failure


# Pages are stored a block at a time, each block in one transaction with the checkpoint
# of its last page: a commit costs an fsync (tens of ms on a shared disk, more than the
# pages' rows), so a commit per 800-hash StopNCII page bounded a sync at a few thousand
# hashes a second. A crash loses at most the block being gathered, which the next sync
# fetches again from the last stored checkpoint; a failure of the exchange stores the
# pages fetched before it first.
#
# Blocks grow with the items already stored: each block's rows land at random places in
# the items table's two indexes (keyed by hash), so once a block is smaller than an
# index it dirties about a page per row, read and written again at its commit (WAL).
# 1 M items in blocks of 25,000: the SQL insert and commit took 3 µs a row in the first
# block and ~30 in the last (docs/detectors/media.md). A block of a quarter of the
# items stored touches each page a few times per write instead.
BLOCK_ITEMS = 25_000  # items per store transaction (at least)
MAX_BLOCK_ITEMS = 200_000  # at most (memory: ~0.5 kB an item while gathered)
BLOCK_SHARE = 4  # a block is at least 1/BLOCK_SHARE of the items stored before it
PREFETCH_PAGES = 4  # pages fetched ahead while a block is stored


def block_items(stored: int) -> int:
    """Items gathered before a block is stored, when ``stored`` items are stored."""
    return max(BLOCK_ITEMS, min(MAX_BLOCK_ITEMS, stored // BLOCK_SHARE))


@dataclass(frozen=True)
class _Page:
    """A fetched page as stored: each item's hashes (None: deleted), the checkpoint."""

    updates: dict[str, list[ItemHash] | None]
    checkpoint: str


def _converted(kind: ExchangeApi, client: AnyApi, deltas: Iterator[Any]) -> Iterator[_Page]:
    for delta in deltas:
        yield _Page(page_items(kind, client, delta.updates), _checkpoint_text(delta.checkpoint))


def _checkpoint_text(checkpoint: FetchCheckpointBase) -> str:
    """A client's checkpoint as stored."""
    return json.dumps(asdict(checkpoint), sort_keys=True)


@dataclass
class _Block:
    """Pages fetched and converted but not stored yet: their items (a later page's
    version of an item replaces an earlier one's) and the checkpoint after the last."""

    updates: dict[str, list[ItemHash] | None] = field(default_factory=dict)
    checkpoint: str = ""
    pages: int = 0
    items: int = 0

    def take(self, page: _Page) -> None:
        self.updates.update(page.updates)
        self.checkpoint = page.checkpoint
        self.pages += 1
        self.items += len(page.updates)


def _store_block(
    exchanges: ExchangeRepository,
    actor: Actor,
    exchange: Exchange,
    block: _Block,
    pending: _BankChanges,
    report: SyncReport,
) -> None:
    """Store a block's items and its checkpoint in one transaction (what they change in
    the bank is worked out first, and written to the bank after)."""
    if not block.pages:
        return
    changes = exchanges.store_block(actor, exchange.name, block.updates, block.checkpoint)
    pending.note(changes.added, changes.removed)
    report.pages += block.pages
    report.items_updated += changes.updated
    report.items_deleted += changes.deleted
    report.hashes_added += len(changes.added)
    report.hashes_removed += len(changes.removed)
    report.added += changes.added


_DONE = object()  # the end of a prefetched iterator


@contextmanager
def _prefetched(pages: Iterator[Any], ahead: int = PREFETCH_PAGES) -> Iterator[Iterator[Any]]:
    """``pages`` read in a thread up to ``ahead`` items in advance, so that the exchange
    answers the next pages while a block is stored (the wait for the network and the
    store's fsync overlap). An error of the iterator is raised where its item would have
    come; leaving the block stops the thread (the rest is not fetched)."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))

    def consume() -> Iterator[Any]:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    thread = threading.Thread(target=produce, name="daybreak-exchange-fetch", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def sync_all(
    exchanges: ExchangeRepository, actor: Actor, banks: BankStore, names: Sequence[str] = ()
) -> dict[str, SyncReport | ExchangeSyncError]:
    """Sync the named exchanges (default: every enabled one), each on its own: one
    failing (reported in its place) does not stop the others."""
    chosen = list(names) or [e.name for e in exchanges.all(actor) if e.enabled]
    done: dict[str, SyncReport | ExchangeSyncError] = {}
    for name in chosen:
        try:
            done[name] = sync_exchange(exchanges, actor, banks, name)
        except ExchangeSyncError as exc:
            done[name] = exc
    return done


FLUSH_HASHES = 50_000  # bank changes gathered before they are written to the bank
KEY_SCHEMA = {k: ENTRY_SCHEMA[k] for k in KEYS}


class _BankChanges:
    """The bank changes of the blocks stored so far, written to the bank in batches. A
    write appends only the change (one part) and deduplicates it against the key
    digests of the bank's parts (it reads none of the bank's keys unless one may be
    listed). A batch is still at least :data:`FLUSH_HASHES` changes and at least the
    bank's size (1 M hashes into an empty bank: 6 writes; into a bank of 10 M: one):
    every write makes the live matchers catch up in the querying processes, and
    writing a 10 M bank in steps during a sync gave 1.5 to 4 times as many queries
    over 100 ms there without making it reliably searchable sooner
    (docs/detectors/media.md, "Fourth round"). A sync that dies before a write leaves the exchange marked
    (``bank_current`` false) and the next sync reconciles the bank with the items."""

    def __init__(
        self, exchanges: ExchangeRepository, actor: Actor, banks: BankStore, exchange: Exchange
    ) -> None:
        self.exchanges, self.actor, self.banks, self.exchange = exchanges, actor, banks, exchange
        self.label = f"exchange:{exchange.name}"
        self.pending: dict[tuple[str, str], bool] = {}  # hash -> added (True) or removed
        self.bank_size = banks.get(exchange.bank).count

    def note(self, added: Sequence[tuple[str, str]], removed: Sequence[tuple[str, str]]) -> None:
        self.pending.update(dict.fromkeys(added, True))
        self.pending.update(dict.fromkeys(removed, False))
        if len(self.pending) >= max(FLUSH_HASHES, self.bank_size):
            self.flush()

    def flush(self) -> None:
        adds = [h for h, added in self.pending.items() if added]
        removes = [h for h, added in self.pending.items() if not added]
        if adds:  # a frame made column-wise from the keys (no BankEntry per hash)
            keys = pl.DataFrame(adds, schema=KEY_SCHEMA, orient="row")
            added_at = pl.lit(datetime.now(UTC), ENTRY_SCHEMA["added_at"]).alias("added_at")
            labels = pl.lit([self.label], ENTRY_SCHEMA["labels"]).alias("labels")
            self.banks.add_frame(self.exchange.bank, keys.with_columns(labels, added_at))
        if removes:
            self.banks.remove(self.exchange.bank, removes)
        self.pending.clear()
        self.bank_size = self.banks.get(self.exchange.bank).count
        self.exchanges.bank_written(self.actor, self.exchange.name)

    def reconcile(self, report: SyncReport) -> None:
        """Add the listed hashes the bank lacks; remove the exchange's entries no item
        lists any more."""
        listed = self.exchanges.listed(self.actor, self.exchange.name)
        entries = self.banks.entries(self.exchange.bank)
        rows = entries.select("hash_type", "hash", "labels").iter_rows()
        present, mine = set(), set()
        for hash_type, value, labels in rows:
            present.add((hash_type, value))
            if self.label in (labels or ()):
                mine.add((hash_type, value))
        self.note(sorted(listed - present), sorted(mine - listed))
        report.reconciled = len(self.pending)
        self.flush()


# -- opinions ------------------------------------------------------------------------

# An analyst confirms a case's hash-list matches by referring the case, or by closing it
# with an outcome that acted on it; a rejection is said explicitly (`daybreak media
# exchange opinion CASE --verdict false-positive`): "no action" is not a false positive.
CONFIRMING_OUTCOMES = frozenset({"referred_to_police", "child_safeguarded"})
CASE_EVENTS_BATCH = 500


def confirms_matches(detail: Mapping[str, Any]) -> bool:
    """Whether a ``case.transition`` audit entry is an analyst's confirmation."""
    to, outcome = detail.get("to"), detail.get("outcome")
    return to == "referred" or (to == "closed" and outcome in CONFIRMING_OUTCOMES)


def queue_case_verdicts(store: TiplineStore, actor: Actor) -> int:
    """Queue a true-positive opinion for the hash-list matches of every case the
    organisation's analysts confirmed since the last call (a cursor over the audit
    trail, kept like the outbound relay's); returns the opinions queued."""
    cursor = f"exchange-opinions/{actor.org_id}"
    seq, queued = store.outbound.cursor(cursor), 0
    while batch := store.outbound.events_after(
        seq, ["case.transition"], CASE_EVENTS_BATCH, actor.org_id
    ):
        for entry in batch:
            if confirms_matches(entry.detail):
                queued += queue_case_opinion(store, actor, entry.object_id, "true_positive")
        seq = batch[-1].seq
        store.outbound.advance(cursor, seq)
    return queued


def case_matches(store: TiplineStore, actor: Actor, case_id: str) -> list[tuple[str, str]]:
    """(hash type, listed hash) of each hash-list match of the case's alerts."""
    case = store.cases.get(case_id, actor)
    if case is None:
        raise ExchangeError(f"no case {case_id!r}")
    return sorted({(m.hash_type, m.listed_hash) for a in case.alerts for m in a.hash_matches})


def queue_case_opinion(store: TiplineStore, actor: Actor, case_id: str, verdict: str) -> int:
    """Queue ``verdict`` on each hash the case's alerts matched, for the exchanges that
    listed it; returns the opinions queued (0: none of its hashes came from one)."""
    hashes = case_matches(store, actor, case_id)
    return sum(len(store.exchanges.queue_opinion(actor, t, h, verdict, case_id)) for t, h in hashes)


def opinion_words(api: str, verdict: str) -> str:
    """What an opinion becomes at the exchange, for the analyst."""
    return exchange_api(api).opinions.get(verdict, f"nothing ({api} takes no {verdict!r})")


@dataclass
class DeliveryReport:
    sent: int = 0
    unsupported: int = 0
    retrying: int = 0
    dead: int = 0


def send_opinions(
    exchanges: ExchangeRepository,
    actor: Actor,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Deliver the queued opinions that are due, each to the exchange that listed its
    hash, for every item of that exchange listing it."""
    report = DeliveryReport()
    now = now or datetime.now(UTC)
    for opinion in exchanges.opinions(actor, due_at=now):
        exchange = exchanges.get(actor, opinion.exchange)
        kind = exchange_api(exchange.api)
        refs = [
            r
            for e, r in exchanges.refs(actor, opinion.hash_type, opinion.hash)
            if e == exchange.name
        ]
        state, error, retry = _deliver(exchange, kind, refs, opinion, env)
        if state == QUEUED:
            retry = now + RETRY_BASE * 2**opinion.attempts
            if opinion.attempts + 1 >= MAX_ATTEMPTS:
                state = DEAD
        exchanges.opinion_done(actor, opinion, state, error, retry)
        report.sent += state == SENT
        report.unsupported += state == UNSUPPORTED
        report.retrying += state == QUEUED
        report.dead += state == DEAD
    return report


def _deliver(
    exchange: Exchange,
    kind: ExchangeApi,
    refs: Sequence[str],
    opinion: Opinion,
    env: Mapping[str, str] | None,
) -> tuple[str, str, datetime | None]:
    """(state, error, retry time) after one delivery attempt."""
    secrets: list[str] = []
    try:
        secret = read_secret(exchange, env)
        secrets = _secret_parts(secret)
        with _masked(secrets):
            client = kind.open(exchange.name, exchange.config, secret)
            done = [kind.send(client, ref, opinion.verdict, exchange.config) for ref in refs]
    except Exception as exc:
        return QUEUED, redact(f"{type(exc).__name__}: {exc}", secrets), None
    if not done or not any(done):
        why = f"{exchange.api} takes no {opinion.verdict!r} opinion on this hash"
        return UNSUPPORTED, why, None
    return SENT, "", None
