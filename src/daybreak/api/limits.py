"""Request body size limit (pure ASGI, so it also covers chunked uploads) and per-actor
rate limits (token buckets in memory; one server process holds them)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that stream and enforce their own, larger limit (media uploads).
        self.exempt = exempt_prefixes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": f"request body larger than {self.max_bytes} bytes",
                        "type": "too_large",
                    }
                ]
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exempt = bool(self.exempt) and str(scope.get("path", "")).startswith(self.exempt)
        if scope["type"] != "http" or exempt:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await self._reject(send)
                    return
        if any(name == b"content-length" for name, _ in scope.get("headers", [])):
            # The server enforces Content-Length, which we checked above.
            await self.app(scope, receive, send)
            return
        # Chunked body: read it up to the limit before the app sees any of it.
        parts: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._reject(send)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token bucket per actor: ``per_minute`` requests a minute, bursts up to the same."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, who: str, per_minute: int) -> float:
        """0.0 when allowed, else seconds until the next request would be."""
        if per_minute <= 0:
            return 0.0
        now = time.monotonic()
        rate = per_minute / 60.0
        with self._lock:
            b = self._buckets.get(who)
            if b is None:
                b = self._buckets[who] = _Bucket(float(per_minute), now)
            b.tokens = min(float(per_minute), b.tokens + (now - b.at) * rate)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / rate
