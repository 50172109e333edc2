"""A client of NCMEC's CyberTipline Reporting API (``/status``, ``/submit``, ``/fileinfo``,
``/finish``, ``/retract``), as NCMEC's "CyberTipline Reporting API Technical
Documentation" describes it: HTTP Basic authentication, XML documents posted as
``text/xml; charset=utf-8``, the report id posted as the form field ``id``, and every
answer a ``<reportResponse>`` (``<reportDoneResponse>`` for ``/finish``) whose
``responseCode`` 0 means success.

Credentials come from the environment or a secret file (:meth:`NcmecCredentials.load`)
and are never logged: their ``repr`` hides the password and no message here names it.
Media are never uploaded (``/upload`` is not implemented on purpose): Daybreak holds
hashes, never files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from lxml import etree

USERNAME_ENV = "DAYBREAK_NCMEC_USERNAME"
PASSWORD_ENV = "DAYBREAK_NCMEC_PASSWORD"
CREDENTIALS_FILE_ENV = "DAYBREAK_NCMEC_CREDENTIALS_FILE"
URL_ENV = "DAYBREAK_NCMEC_URL"
TEST_URL = "https://exttest.cybertip.org/ispws"  # NCMEC's testing environment
PRODUCTION_URL = "https://report.cybertip.org/ispws"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# Response codes of the documentation's Appendix D that the connector acts on.
SUCCESS = 0
REPORT_DOES_NOT_EXIST = 5001
REPORT_ALREADY_RETRACTED = 5101
REPORT_ALREADY_FINISHED = 5102


class NcmecError(RuntimeError):
    """NCMEC could not be reached, refused the credentials, or answered with an error."""


def read_private_file(path: Path, what: str, error: type[Exception]) -> str:
    """The stripped text of a secret file that only its owner can read; ``error`` names
    the file (never its content) when others can read it or it cannot be read."""
    try:
        if path.stat().st_mode & 0o077:
            raise error(f"{path}: the {what} file is readable by others; chmod 600 {path}")
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} file ({exc.strerror})") from exc


@dataclass(frozen=True, slots=True)
class NcmecCredentials:
    username: str
    password: str = field(repr=False)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> NcmecCredentials:
        """From ``DAYBREAK_NCMEC_USERNAME`` and ``DAYBREAK_NCMEC_PASSWORD``, else from the
        file named by ``DAYBREAK_NCMEC_CREDENTIALS_FILE`` (one line ``username:password``,
        readable by its owner only)."""
        env = os.environ if env is None else env
        username, password = env.get(USERNAME_ENV, ""), env.get(PASSWORD_ENV, "")
        if username and password:
            return cls(username, password)
        path = env.get(CREDENTIALS_FILE_ENV)
        if not path:
            raise NcmecError(
                f"no NCMEC credentials: set {USERNAME_ENV} and {PASSWORD_ENV}, or "
                f"{CREDENTIALS_FILE_ENV} to a file holding one line username:password"
            )
        return cls._from_file(Path(path))

    @classmethod
    def _from_file(cls, path: Path) -> NcmecCredentials:
        line = read_private_file(path, "NCMEC credentials", NcmecError)
        username, sep, password = line.partition(":")
        if not sep or not username or not password:
            # the content is never echoed: it is the secret
            raise NcmecError(f"{path}: expected one line username:password")
        return cls(username, password)


@dataclass(frozen=True, slots=True)
class NcmecResponse:
    """A ``<reportResponse>`` or ``<reportDoneResponse>``."""

    http_status: int
    code: int
    description: str
    report_id: int | None
    file_ids: tuple[str, ...]
    request_id: str  # NCMEC's Request-ID header, for their support
    document: str  # the response as received

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS

    def summary(self) -> str:
        where = f" (Request-ID {self.request_id})" if self.request_id else ""
        return f"NCMEC answered {self.code} {self.description!r}, HTTP {self.http_status}{where}"


def base_url(url: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The API's base URL: ``url``, else ``DAYBREAK_NCMEC_URL``. HTTPS only (as NCMEC
    serves it), except plain HTTP on this machine's loopback for local test servers."""
    env = os.environ if env is None else env
    chosen = (url or env.get(URL_ENV) or "").rstrip("/")
    if not chosen:
        raise NcmecError(
            f"say which CyberTipline API to use: --endpoint or {URL_ENV} "
            f"({TEST_URL} to test, {PRODUCTION_URL} to report)"
        )
    parts = urlsplit(chosen)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return chosen
    raise NcmecError(f"{chosen}: the CyberTipline API is reached over https only")


def parse_response(http_status: int, body: bytes, request_id: str = "") -> NcmecResponse:
    try:
        root = etree.fromstring(
            body, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise NcmecError(
            f"NCMEC answered HTTP {http_status} with a body that is not XML ({exc})"
        ) from exc
    if root.tag not in {"reportResponse", "reportDoneResponse"}:
        raise NcmecError(f"NCMEC answered HTTP {http_status} with an unexpected <{root.tag}>")
    code_text = root.findtext("responseCode")
    if code_text is None or not code_text.strip().lstrip("-").isdigit():
        raise NcmecError(f"NCMEC's <{root.tag}> has no numeric responseCode")
    report_text = (root.findtext("reportId") or "").strip()
    return NcmecResponse(
        http_status=http_status,
        code=int(code_text),
        description=(root.findtext("responseDescription") or "").strip(),
        report_id=int(report_text) if report_text.isdigit() else None,
        file_ids=tuple((f.text or "").strip() for f in root.iter("fileId")),
        request_id=request_id,
        document=body.decode("utf-8", errors="replace"),
    )


class CybertipClient:
    """One method per endpoint; every method returns NCMEC's parsed answer, success or
    error, and raises :class:`NcmecError` only when there is no answer to parse."""

    def __init__(
        self,
        url: str,
        credentials: NcmecCredentials,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self._http = httpx.Client(
            base_url=self.url,
            auth=httpx.BasicAuth(credentials.username, credentials.password),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # credentials go to the configured host only
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CybertipClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> NcmecResponse:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise NcmecError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from exc
        if answer.status_code == 401:
            raise NcmecError(
                f"{self.url}{path}: NCMEC refused the credentials (HTTP 401); check them "
                "with /status"
            )
        return parse_response(
            answer.status_code, answer.content, answer.headers.get("Request-ID", "")
        )

    def _post_xml(self, path: str, document: bytes) -> NcmecResponse:
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        return self._call("POST", path, content=document, headers=headers)

    def _post_id(self, path: str, report_id: int) -> NcmecResponse:
        # curl --form id=N: a multipart form with one field
        return self._call("POST", path, files={"id": (None, str(report_id))})

    def status(self) -> NcmecResponse:
        return self._call("GET", "/status")

    def submit(self, report: bytes) -> NcmecResponse:
        return self._post_xml("/submit", report)

    def fileinfo(self, file_details: bytes) -> NcmecResponse:
        return self._post_xml("/fileinfo", file_details)

    def finish(self, report_id: int) -> NcmecResponse:
        return self._post_id("/finish", report_id)

    def retract(self, report_id: int) -> NcmecResponse:
        return self._post_id("/retract", report_id)
