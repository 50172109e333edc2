"""A local CyberTipline Reporting API for the tests, built from NCMEC's "CyberTipline
Reporting API Technical Documentation" (../shared/standards/ncmec/api_documentation.txt):
the endpoints /status, /xsd, /submit, /upload, /fileinfo, /finish and /retract, HTTP
Basic authentication, XML validated against the CyberTipline XSD (lxml, independently
of the client's own check), and the documented ``<reportResponse>`` /
``<reportDoneResponse>`` answers, errors included (Appendix D codes). It serves on
127.0.0.1 only and keeps every report it opened, so tests can count them.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from lxml import etree

DESCRIPTIONS = {
    0: "Success",
    1000: "Server error",
    2000: "Authentication required",
    4000: "Invalid request",
    4100: "Validation failed",
    4110: "Malformed XML submittal",
    4200: "Malformed file submittal",
    5001: "Report does not exist",
    5002: "File does not exist",
    5101: "Report already retracted",
    5102: "Report already finished",
}
HTTP_STATUS = {0: 200, 1000: 500, 2000: 401, 5001: 404, 5002: 404}  # else 400


@lru_cache(maxsize=2)
def _schema(xsd: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd)))


@dataclass
class OpenedReport:
    report_id: int
    xml: bytes
    state: str = "open"  # open | finished | retracted
    files: dict[str, bytes] = field(default_factory=dict)  # file id -> md5
    file_details: list[bytes] = field(default_factory=list)


@dataclass
class ServerState:
    username: str
    password: str
    xsd: Path
    reports: dict[int, OpenedReport] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # paths, in order
    faults: dict[str, list[int]] = field(default_factory=dict)  # path -> codes to answer next
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Any = field(default_factory=lambda: itertools.count(4564654))

    def finished(self) -> list[OpenedReport]:
        return [r for r in self.reports.values() if r.state == "finished"]

    def fail_next(self, path: str, code: int) -> None:
        self.faults.setdefault(path, []).append(code)

    def expire(self, report_id: int) -> None:
        """NCMEC deletes a report left unfinished (24 h after it was opened)."""
        del self.reports[report_id]


def _response(code: int, report_id: int | None = None, extra: str = "", text: str = "") -> str:
    description = escape(text or DESCRIPTIONS.get(code, "Error"))
    rid = f"<reportId>{report_id}</reportId>" if report_id is not None else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<reportResponse>'
        f"<responseCode>{code}</responseCode><responseDescription>{description}"
        f"</responseDescription>{rid}{extra}</reportResponse>"
    )


class Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests

    @property
    def state(self) -> ServerState:
        return self.server.state

    def _send(self, code: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(HTTP_STATUS.get(code, 400))
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Request-ID", uuid.uuid4().hex)
        self.send_header("Content-Length", str(len(data)))
        if code == 2000:
            self.send_header("WWW-Authenticate", 'Basic realm="ispws"')
        self.end_headers()
        self.wfile.write(data)

    def _authenticated(self) -> bool:
        header = self.headers.get("Authorization", "")
        expected = f"{self.state.username}:{self.state.password}".encode()
        if header.startswith("Basic ") and base64.b64decode(header[6:]) == expected:
            return True
        self._send(2000, _response(2000))
        return False

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _form(self, body: bytes) -> dict[str, bytes]:
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            out = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                out[str(name)] = part.get_payload(decode=True) or b""
            return out
        return {k: v[0].encode() for k, v in parse_qs(body.decode()).items()}

    def do_GET(self) -> None:
        self.state.calls.append(self.path)
        if not self._authenticated():
            return
        if self.path == "/status":
            who = f"Remote User : {self.state.username}, Remote Ip : {self.client_address[0]}"
            self._send(0, _response(0, text=who))
        elif self.path == "/xsd":
            data = self.state.xsd.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._send(4000, _response(4000))

    def do_POST(self) -> None:
        self.state.calls.append(self.path)
        if not self._authenticated():
            return
        body = self._body()
        with self.state.lock:
            faults = self.state.faults.get(self.path)
            if faults:
                self._send(faults[0], _response(faults.pop(0)))
                return
            route = {
                "/submit": self._submit,
                "/upload": self._upload,
                "/fileinfo": self._fileinfo,
                "/finish": self._finish,
                "/retract": self._retract,
            }.get(self.path)
            if route is None:
                self._send(4000, _response(4000))
            else:
                route(body)

    def _document(self, body: bytes, root: str) -> etree._Element | None:
        try:
            doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            self._send(4110, _response(4110, text=f"Malformed XML submittal: {exc}"))
            return None
        schema = _schema(self.state.xsd)
        if doc.tag != root or not schema.validate(doc):
            problems = "; ".join(str(e.message) for e in schema.error_log) or f"expected <{root}>"
            self._send(4100, _response(4100, text=f"Validation failed: {problems}"))
            return None
        return doc

    def _open(self, report_id: int) -> tuple[OpenedReport | None, int]:
        report = self.state.reports.get(report_id)
        if report is None:
            return None, 5001
        return report, {"open": 0, "finished": 5102, "retracted": 5101}[report.state]

    def _id(self, form: dict[str, bytes]) -> int | None:
        raw = form.get("id", b"").decode().strip()
        if not raw.isdigit():
            self._send(4000, _response(4000, text="Invalid request: id"))
            return None
        return int(raw)

    def _submit(self, body: bytes) -> None:
        if self._document(body, "report") is None:
            return
        report_id = next(self.state.ids)
        self.state.reports[report_id] = OpenedReport(report_id, body)
        self._send(0, _response(0, report_id))

    def _upload(self, body: bytes) -> None:
        form = self._form(body)
        report_id = self._id(form)
        if report_id is None:
            return
        report, code = self._open(report_id)
        if report is None or code:
            self._send(code, _response(code, report_id))
            return
        file_id, md5 = uuid.uuid4().hex, hashlib.md5(form.get("file", b"")).hexdigest()
        report.files[file_id] = md5.encode()
        self._send(0, _response(0, report_id, f"<fileId>{file_id}</fileId><hash>{md5}</hash>"))

    def _fileinfo(self, body: bytes) -> None:
        doc = self._document(body, "fileDetails")
        if doc is None:
            return
        report_id = int(doc.findtext("reportId") or 0)
        report, code = self._open(report_id)
        if report is not None and not code and doc.findtext("fileId") not in report.files:
            code = 5002
        if report is None or code:
            self._send(code, _response(code, report_id))
            return
        report.file_details.append(body)
        self._send(0, _response(0, report_id))

    def _finish(self, body: bytes) -> None:
        report_id = self._id(self._form(body))
        if report_id is None:
            return
        report, code = self._open(report_id)
        if report is None or code:
            self._send(code, _response(code, report_id))
            return
        report.state = "finished"
        files = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        self._send(
            0,
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<reportDoneResponse>'
            f"<responseCode>0</responseCode><reportId>{report_id}</reportId>"
            f"<files>{files}</files></reportDoneResponse>",
        )

    def _retract(self, body: bytes) -> None:
        report_id = self._id(self._form(body))
        if report_id is None:
            return
        report, code = self._open(report_id)
        if report is None or code:
            self._send(code, _response(code, report_id))
            return
        report.state = "retracted"
        self._send(0, _response(0, report_id))


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ServerState) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def start(state: ServerState) -> tuple[ApiServer, threading.Thread]:
    server = ApiServer(state)
    thread = threading.Thread(target=server.serve_forever, name="ncmec-test-api", daemon=True)
    thread.start()
    return server, thread
