"""``daybreak stream relay``: publish alerts and case changes to NATS subjects and to
webhooks.

The events are the store's audit entries whose action ``outbound.actions`` lists
(``case.transition``, ``report.create`` …): every change is audited, so nothing that
changes a case can bypass the relay. The relay reads them after its cursor (kept in the
store), publishes each to ``<subject_prefix>.<action>`` (``Nats-Msg-Id`` = the event id,
so JetStream drops a republished duplicate) and POSTs it to every webhook, then advances
the cursor: at least once, in audit order. Receivers deduplicate on ``X-Daybreak-Event-Id``.

Webhook bodies are signed like Stripe's: ``X-Daybreak-Signature: t=<unix>,v1=<hex>``,
the HMAC-SHA256 of ``"<t>.<raw body>"`` under the webhook's secret
(:func:`verify_signature` is the receiver's side). A delivery that fails (connection
error, timeout, 408, 429, 5xx) is retried with exponential back-off; one that still
fails, or is refused (other 4xx), goes to the store's dead-letter list
(``daybreak stream dead-letters``) and the relay moves on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass

import httpx
from nats.js import JetStreamContext

from daybreak.connectors.nats_connection import connect_nats
from daybreak.connectors.stream_config import NatsSettings, OutboundSettings, WebhookSettings
from daybreak.store import TiplineStore
from daybreak.store.audit import AuditEntry
from daybreak.store.auth import Actor, operator_in
from daybreak.store.repositories.outbound import DeadLetter
from daybreak.store.tables import DEFAULT_ORG

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Daybreak-Signature"
EVENT_ID_HEADER = "X-Daybreak-Event-Id"
RETRYABLE = frozenset({408, 425, 429})
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A webhook body whose signature is missing, malformed, stale or wrong."""


def event_body(entry: AuditEntry) -> tuple[str, bytes]:
    """The event's id and JSON body: the audit entry's fields (ids and counts only)."""
    event_id = f"audit-{entry.seq}"
    body = {
        "id": event_id,
        "type": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "detail": entry.detail,
    }
    return event_id, json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes,
    body: bytes,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received body against its ``X-Daybreak-Signature`` (raw bytes, before
    parsing); raises :class:`SignatureError` saying what is wrong."""
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        raise SignatureError(f"{SIGNATURE_HEADER} must look like t=<unix>,v1=<hex>")
    stamp = int(parts["t"])
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        raise SignatureError(f"timestamp {stamp} is more than {tolerance} s from now")
    if not hmac.compare_digest(sign(secret, body, stamp), f"t={stamp},v1={parts['v1']}"):
        raise SignatureError("signature does not match the body")


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    attempts: int
    last_error: str = ""


def backoff_delays(settings: OutboundSettings) -> list[float]:
    """The waits before attempts 2, 3, …: doubling from the initial wait, capped."""
    return [
        min(settings.backoff_initial_seconds * 2**k, settings.backoff_max_seconds)
        for k in range(settings.max_attempts - 1)
    ]


async def deliver(
    client: httpx.AsyncClient,
    hook: WebhookSettings,
    secret: bytes,
    event_id: str,
    body: bytes,
    settings: OutboundSettings,
) -> Delivery:
    """POST ``body`` to ``hook`` until it answers 2xx, with back-off between tries."""
    delays = backoff_delays(settings)
    error = ""
    for attempt in range(1, settings.max_attempts + 1):
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        }
        try:
            answer = await client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}"
        else:
            if answer.is_success:
                return Delivery(True, attempt)
            error = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code not in RETRYABLE:
                return Delivery(False, attempt, error + " (refused: not retried)")
        if attempt <= len(delays):
            await asyncio.sleep(delays[attempt - 1])
    return Delivery(False, settings.max_attempts, error)


class OutboundRelay:
    """Publishes the store's new events (see the module's docstring). ``name`` keys its
    cursor, so two relays (say, one per receiver) progress independently."""

    def __init__(
        self,
        settings: OutboundSettings,
        nats_settings: NatsSettings,
        store: TiplineStore,
        *,
        name: str = "default",
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.nats_settings = nats_settings
        self.store = store
        # The cursor is the organisation's own: relays of two organisations may share a name.
        self.name = (
            name if settings.organisation == DEFAULT_ORG else f"{settings.organisation}/{name}"
        )
        environ = os.environ if env is None else env
        missing = [h.secret_env for h in settings.webhooks if not environ.get(h.secret_env)]
        if missing:
            raise ValueError(f"webhook secret(s) not set in the environment: {missing}")
        self._secrets = [environ[h.secret_env].encode() for h in settings.webhooks]
        self._stop = asyncio.Event()
        self.published = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        self._stop.set()

    async def run(self, *, once: bool = False) -> None:
        """Relay until stopped (``once``: until no event is left)."""
        nc = None
        if self.settings.subject_prefix is not None:
            nc = await connect_nats(self.nats_settings)
        try:
            js = nc.jetstream() if nc is not None else None
            async with httpx.AsyncClient(timeout=self.settings.timeout_seconds) as client:
                while not self._stop.is_set():
                    done = await self._relay_batch(js, client)
                    if done == 0:
                        if once:
                            return
                        await asyncio.sleep(self.settings.poll_seconds)
        finally:
            if nc is not None:
                await nc.drain()

    async def _relay_batch(self, js: JetStreamContext | None, client: httpx.AsyncClient) -> int:
        s = self.settings
        cursor = await asyncio.to_thread(self.store.outbound.cursor, self.name)
        entries = await asyncio.to_thread(
            self.store.outbound.events_after, cursor, s.actions, s.batch, s.organisation
        )
        for entry in entries:
            if self._stop.is_set():
                break
            await self._relay_one(js, client, entry)
            await asyncio.to_thread(self.store.outbound.advance, self.name, entry.seq)
        return len(entries)

    async def _relay_one(
        self, js: JetStreamContext | None, client: httpx.AsyncClient, entry: AuditEntry
    ) -> None:
        event_id, body = event_body(entry)
        if js is not None:
            subject = f"{self.settings.subject_prefix}.{entry.action}"
            await js.publish(subject, body, headers={"Nats-Msg-Id": event_id})
        results = await asyncio.gather(
            *(
                deliver(client, hook, secret, event_id, body, self.settings)
                for hook, secret in zip(self.settings.webhooks, self._secrets, strict=True)
            )
        )
        for hook, result in zip(self.settings.webhooks, results, strict=True):
            if not result.ok:
                log.warning("webhook %s: %s failed (%s)", hook.url, event_id, result.last_error)
                await asyncio.to_thread(
                    self.store.outbound.add_dead_letter,
                    event_id, hook.url, entry.action, body.decode(), result.attempts,
                    result.last_error, entry.org_id,
                )  # fmt: skip
                self.dead_lettered += 1
        self.published += 1


@dataclass(frozen=True, slots=True)
class Redelivery:
    delivered: int
    failed: int
    skipped: int  # letters for webhooks this configuration no longer has


async def redeliver_dead_letters(
    settings: OutboundSettings,
    store: TiplineStore,
    *,
    env: dict[str, str] | None = None,
    only: set[int] | None = None,
) -> Redelivery:
    """Try each dead letter of the organisation again (``only``: those ids), with the
    same signing and back-off as the relay: a delivered one leaves the list (audited), a
    failed one stays with its attempts and error updated. The body sent is the one that
    failed, so the receiver deduplicates it like any redelivery."""
    environ = os.environ if env is None else env
    actor = operator_in(settings.organisation)
    hooks = {h.url: h for h in settings.webhooks}
    letters = await asyncio.to_thread(store.outbound.dead_letters, actor, 10_000)
    delivered = failed = skipped = 0
    async with httpx.AsyncClient(timeout=settings.timeout_seconds) as client:
        for letter in letters:
            if only is not None and letter.id not in only:
                continue
            hook = hooks.get(letter.url)
            secret = environ.get(hook.secret_env, "") if hook else ""
            if hook is None or not secret:
                skipped += 1
                continue
            result = await deliver(
                client, hook, secret.encode(), letter.event_id, letter.body.encode(), settings
            )
            await asyncio.to_thread(_settle, store, actor, letter, result)
            if result.ok:
                delivered += 1
            else:
                failed += 1
    return Redelivery(delivered, failed, skipped)


def _settle(store: TiplineStore, actor: Actor, letter: DeadLetter, result: Delivery) -> None:
    if result.ok:
        store.outbound.redelivered(actor, letter)
    else:
        store.outbound.failed_again(actor, letter, result.attempts, result.last_error)
