"""Local (127.0.0.1) servers of the hash exchanges Daybreak syncs from, built from the
request and response shapes python-threatexchange's clients send and parse:

- NCMEC hash sharing: ``threatexchange/exchanges/clients/ncmec/hash_api.py`` (the client:
  HTTP Basic, ``GET {base}/v2/entries?from&to``, paging through ``<paging><next>``,
  ``PUT {base}/v2/entries/{esp}/{entry}/{TYPE}/feedback``, ``GET
  {base}/v2/feedback/{TYPE}/reasons``) and the sample payloads of its tests
  (``clients/ncmec/tests/data.py``: ``<queryResult>`` with ``<images>``/``<videos>``,
  ``<image>``/``<deletedImage>``, ``<member id>``, ``<fingerprints>``, the ``next`` URL
  ``/v2/entries?from&to&start&size&max``, ``<availableFeedbackReasons>``,
  ``<submissionResult>``), facebook/ThreatExchange @ 1da801d5.
- Meta ThreatExchange: ``clients/fb_threatexchange/api.py`` (``GET
  {base}/{privacy_group}/threat_updates/?access_token&start_time&limit&fields``, then the
  ``paging.next`` URL as given; reactions ``POST {base}/{descriptor_id}/?access_token&
  reactions=...``) and ``threat_updates.py``/``impl/fb_threatexchange_api.py`` (each
  update's ``id``, ``indicator``, ``type``, ``last_updated``, ``should_delete``,
  ``descriptors.data[].{id, owner.id, status, tags, reactions}``); the Graph API answers
  ``{"success": true}`` to a reaction (developers.facebook.com/docs/threat-exchange/
  reference/reacting).
- StopNCII: ``clients/stopncii/api.py`` (``GET {base}/FetchHashes?startTimestamp&pageSize
  [&nextPageToken]`` with the ``x-functions-key`` and ``Ocp-Apim-Subscription-Key``
  headers, answered by ``FetchHashesResponse``: ``count``, ``nextPageToken``,
  ``nextSetTimestamp``, ``hasMoreRecords``, ``hashRecords[]`` of ``StopNCIIHashRecord``:
  ``lastModtimestamp``, ``signalType``, ``hashValue``, ``hashStatus``, ``caseNumbers``,
  ``CSPFeedbacks``; ``POST {base}/SubmitFeedback`` ``{"count", "hashFeedbacks":
  [{"hashValue", "feedbackValue", "tags"}]}`` with the feedback endpoint's function key).
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
NCMEC_PREFIX = "/hashsharing"
STOPNCII_PREFIX = "/v1"
TX_PREFIX = "/v26.0"
REASON_GUID = "01234567-abcd-0123-4567-012345678900"


def _ts(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(text: str) -> int:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class NcmecEntry:
    member: int
    id: str
    kind: str  # image | video
    timestamp: int
    fingerprints: dict[str, str]
    deleted: bool = False
    classification: str = "A1"

    def xml(self) -> str:
        tag = ("deleted" + self.kind.capitalize()) if self.deleted else self.kind
        parts = [
            f'<member id="{self.member}">Member {self.member}</member>',
            f"<timestamp>{_ts(self.timestamp)}</timestamp>",
            f"<id>{escape(self.id)}</id>",
        ]
        if not self.deleted:
            parts.append(f"<classification>{self.classification}</classification>")
            prints = "".join(f"<{k}>{v}</{k}>" for k, v in self.fingerprints.items())
            parts.append(f"<fingerprints>{prints}</fingerprints>")
        return f"<{tag}>{''.join(parts)}</{tag}>"


@dataclass
class Exchange:
    """What a server holds and saw: its data, the requests, the failures to inject."""

    secret: str
    page_size: int = 2
    entries: list[Any] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # method path?query
    auth_seen: list[str] = field(default_factory=list)
    feedback: list[tuple[str, str]] = field(default_factory=list)  # (path, body)
    fail_paged: int = 0  # answer this many paged requests (a next URL) with 503
    fail_feedback: int = 0  # answer this many feedback/reaction requests with 500
    # the entries never change and are in time order (benchmarks: pages by bisection
    # instead of a scan of every entry per page)
    presorted: bool = False
    page_delay: float = 0.0  # seconds each page takes (a slow exchange: crash tests)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    exchange: Exchange
    base: str = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: str, ctype: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""


class NcmecHandler(_Handler):
    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.exchange.auth_seen.append(header)
        expected = "Basic " + base64.b64encode(self.exchange.secret.encode()).decode()
        if header != expected:
            self._send(401, "unauthorised", "text/plain")
            return False
        return True

    def do_GET(self) -> None:
        ex = self.exchange
        ex.requests.append(f"GET {self.path}")
        if not self._authorised():
            return
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path.removeprefix(NCMEC_PREFIX)
        if path.startswith("/v2/feedback/") and path.endswith("/reasons"):
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><availableFeedbackReasons xmlns="{NS}">'
                f'<reason guid="{REASON_GUID}" name="Not the listed material" type="Pdq"/>'
                "</availableFeedbackReasons>"
            )
            self._send(200, body, "application/xml")
            return
        if path != "/v2/entries":
            self._send(404, "not found", "text/plain")
            return
        with ex.lock:
            if "start" in q and ex.fail_paged > 0:
                ex.fail_paged -= 1
                self._send(503, "busy", "text/plain")
                return
            self._send(200, self._entries(q), "application/xml")

    def _entries(self, q: dict[str, str]) -> str:
        ex = self.exchange
        lo, hi = _parse_ts(q["from"]), _parse_ts(q["to"])
        window = [e for e in ex.entries if lo <= e.timestamp < hi]
        start = int(q.get("start", 0))
        page = window[start : start + ex.page_size]
        groups = []
        for kind, tag in (("image", "images"), ("video", "videos")):
            mine = [e for e in page if e.kind == kind]
            if mine:
                top = _ts(max(e.timestamp for e in mine))
                inner = "".join(e.xml() for e in mine)
                groups.append(f'<{tag} count="{len(mine)}" maxTimestamp="{top}">{inner}</{tag}>')
        paging = ""
        nxt = start + ex.page_size
        if nxt < len(window):
            params = urllib.parse.urlencode(
                {
                    "from": q["from"],
                    "to": q["to"],
                    "start": nxt,
                    "size": ex.page_size,
                    "max": len(window),
                }
            )
            paging = f"<paging><next>{escape('/v2/entries?' + params)}</next></paging>"
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<queryResult xmlns="{NS}">{"".join(groups)}{paging}</queryResult>'
        )

    def do_PUT(self) -> None:
        ex = self.exchange
        ex.requests.append(f"PUT {self.path}")
        body = self._body()
        if not self._authorised():
            return
        if not self.path.endswith("/feedback"):
            self._send(404, "not found", "text/plain")
            return
        with ex.lock:
            if ex.fail_feedback > 0:
                ex.fail_feedback -= 1
                self._send(500, "error", "text/plain")
                return
            ex.feedback.append((self.path.removeprefix(NCMEC_PREFIX), body))
        result = f'<?xml version="1.0" encoding="UTF-8"?><submissionResult xmlns="{NS}"/>'
        self._send(200, result, "application/xml")


@dataclass
class TxUpdate:
    id: int
    indicator: str
    type: str
    last_updated: int
    descriptors: list[dict[str, Any]]
    should_delete: bool = False

    def json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": str(self.id),
            "indicator": self.indicator,
            "type": self.type,
            "last_updated": self.last_updated,
            "should_delete": self.should_delete,
        }
        if not self.should_delete:
            row["descriptors"] = {"data": self.descriptors}
        return row


def descriptor(descriptor_id: int, owner: int, status: str = "MALICIOUS") -> dict[str, Any]:
    return {"id": str(descriptor_id), "owner": {"id": str(owner)}, "status": status,
            "tags": ["known_material"], "reactions": []}  # fmt: skip


class TxHandler(_Handler):
    def _query(self) -> tuple[str, dict[str, str]]:
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        return url.path.removeprefix(TX_PREFIX), q

    def _token_ok(self, q: dict[str, str]) -> bool:
        self.exchange.auth_seen.append(q.get("access_token", ""))
        if q.get("access_token") != self.exchange.secret:
            error = {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}  # fmt: skip
            self._send(400, json.dumps(error), "application/json")
            return False
        return True

    def do_GET(self) -> None:
        ex = self.exchange
        ex.requests.append(f"GET {self.path}")
        path, q = self._query()
        if not self._token_ok(q):
            return
        if not path.endswith("/threat_updates/"):
            self._send(404, "{}", "application/json")
            return
        with ex.lock:
            if "after" in q and ex.fail_paged > 0:
                ex.fail_paged -= 1
                self._send(503, json.dumps({"error": {"message": "busy"}}), "application/json")
                return
            since = int(q.get("start_time") or 0)
            rows = sorted(
                (u for u in ex.entries if u.last_updated >= since),
                key=lambda u: (u.last_updated, u.id),
            )
            start = int(q.get("after", 0))
            page = rows[start : start + ex.page_size]
            body: dict[str, Any] = {"data": [u.json() for u in page]}
            if start + ex.page_size < len(rows):
                params = {k: v for k, v in q.items() if k != "after"}
                params["after"] = str(start + ex.page_size)
                body["paging"] = {
                    "cursors": {"after": params["after"]},
                    "next": f"{self.base}{path}?{urllib.parse.urlencode(params)}",
                }
        self._send(200, json.dumps(body), "application/json")

    def do_POST(self) -> None:
        ex = self.exchange
        ex.requests.append(f"POST {self.path}")
        body = self._body()
        path, q = self._query()
        if not self._token_ok(q):
            return
        with ex.lock:
            if ex.fail_feedback > 0:
                ex.fail_feedback -= 1
                self._send(500, "<html>error</html>", "text/html")
                return
            ex.feedback.append((path, body))
        self._send(200, json.dumps({"success": True}), "application/json")


@dataclass
class StopNciiRecord:
    hash_value: str
    signal_type: str  # ImagePDQ | VideoMD5 | Text ...
    modified: int
    status: str = "Active"

    def json(self) -> dict[str, Any]:
        return {
            "lastModtimestamp": self.modified,
            "signalType": self.signal_type,
            "hashValue": self.hash_value,
            "hashStatus": self.status,
            "caseNumbers": {"case-1": self.status},
            "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": ["ncii"], "source": "csp-a"}],
        }


class StopNciiHandler(_Handler):
    """``secret`` is ``fetch_key,subscription_key,feedback_key``."""

    def _keys_ok(self, endpoint: str) -> bool:
        fetch, subscription, feedback = self.exchange.secret.split(",")
        want = fetch if endpoint == "FetchHashes" else feedback
        got = (self.headers.get("x-functions-key"), self.headers.get("Ocp-Apim-Subscription-Key"))
        self.exchange.auth_seen.append(f"{got[0]},{got[1]}")
        if got != (want, subscription):
            self._send(401, json.dumps({"statusCode": 401, "message": "Access denied"}), "application/json")  # fmt: skip
            return False
        return True

    def do_GET(self) -> None:
        ex = self.exchange
        ex.requests.append(f"GET {self.path}")
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path != f"{STOPNCII_PREFIX}/FetchHashes":
            self._send(404, "{}", "application/json")
            return
        if not self._keys_ok("FetchHashes"):
            return
        time.sleep(ex.page_delay)
        with ex.lock:
            if "nextPageToken" in q and ex.fail_paged > 0:
                ex.fail_paged -= 1
                self._send(503, "{}", "application/json")
                return
            since = int(q["startTimestamp"])
            rows, first = ex.entries, 0
            if ex.presorted:
                first = bisect.bisect_left(ex.entries, since, key=lambda r: r.modified)
            else:
                rows = sorted(
                    (r for r in ex.entries if r.modified >= since),
                    key=lambda r: (r.modified, r.hash_value),
                )
            start = int(q.get("nextPageToken", 0))
            page = rows[first + start : first + start + ex.page_size]
            more = first + start + ex.page_size < len(rows)
            body = {
                "count": len(page),
                "nextPageToken": str(start + ex.page_size) if more else None,
                "nextSetTimestamp": max(
                    (r.modified for r in page), default=int(q["startTimestamp"])
                ),
                "hasMoreRecords": more,
                "hashRecords": [r.json() for r in page],
            }
        self._send(200, json.dumps(body), "application/json")

    def do_POST(self) -> None:
        ex = self.exchange
        ex.requests.append(f"POST {self.path}")
        body = self._body()
        if self.path != f"{STOPNCII_PREFIX}/SubmitFeedback":
            self._send(404, "{}", "application/json")
            return
        if not self._keys_ok("SubmitFeedback"):
            return
        with ex.lock:
            ex.feedback.append((self.path.removeprefix(STOPNCII_PREFIX), body))
        self._send(200, json.dumps({"count": 1}), "application/json")


@contextmanager
def serve(handler: type[_Handler], exchange: Exchange, prefix: str) -> Iterator[str]:
    """Run a server on 127.0.0.1 (a free port); yields its base URL."""
    bound = type(handler.__name__, (handler,), {"exchange": exchange})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    base = f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    bound.base = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
