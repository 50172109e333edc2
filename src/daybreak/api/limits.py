"""Request body size limit (pure ASGI, so it also covers chunked uploads) and the headers
every API response gets. (The per-actor rate limits are the store's token buckets:
``store.throttles``, used by :mod:`daybreak.api.security`.)"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "ResponseHeaders"]


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


class ResponseHeaders:
    """``X-Content-Type-Options: nosniff`` on every response, and ``Cache-Control:
    no-store`` on JSON ones (they carry case data and receipts no cache should keep),
    unless the route set its own. Pure ASGI, like :class:`BodySizeLimit`: it sits in
    front of the intake fast path."""

    NOSNIFF = (b"x-content-type-options", b"nosniff")
    NO_STORE = (b"cache-control", b"no-store")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower(): bytes(value) for name, value in headers}
                if self.NOSNIFF[0] not in present:
                    headers.append(self.NOSNIFF)
                is_json = present.get(b"content-type", b"").split(b";")[0].strip().endswith(b"json")
                if is_json and self.NO_STORE[0] not in present:
                    headers.append(self.NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
