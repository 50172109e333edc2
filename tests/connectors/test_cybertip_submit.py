"""Submitting a case to NCMEC's CyberTipline Reporting API, against the local server of
tests/ncmec_server.py: the documented sequence, a crash at every step followed by a retry
(counting the reports the server holds), error answers, and credentials never logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.connectors.cybertip import (
    CybertipSettings,
    SubmissionFailed,
    prepare_report,
    submit_case_bundle,
    submit_report,
)
from daybreak.connectors.cybertip_api import (
    CybertipClient,
    NcmecCredentials,
    NcmecError,
    base_url,
)
from daybreak.exporters.bundle import CaseBundle
from daybreak.store import SYSTEM, TiplineStore
from daybreak.store.auth import Actor, Role
from daybreak.store.cybertip import SubmissionStep
from exporters.conftest import make_bundle, write_world
from ncmec_server import ApiServer, ServerState, start

pytestmark = pytest.mark.shared
USER, PASSWORD = "usr123", "s3cret-Pa55word-never-logged"
ACTOR = Actor("analyst1", Role.ANALYST)


class Crash(Exception):
    """Stands for the process dying at that point: nothing after it runs."""


@pytest.fixture(scope="session")
def ncmec_xsd(shared_dir: Path) -> Path:
    """The CyberTipline XSD from ../shared (the tests skip, saying so, without it)."""
    return shared_dir / "standards" / "ncmec" / "cybertipline_report.xsd"


@pytest.fixture()
def api(ncmec_xsd: Path) -> Iterator[tuple[ApiServer, ServerState]]:
    state = ServerState(USER, PASSWORD, ncmec_xsd)
    server, thread = start(state)
    yield server, state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TiplineStore]:
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    s = TiplineStore.open(tmp_path / "data", dev=True)
    s.cases.upsert([make_bundle().case])
    yield s
    s.close()


@pytest.fixture()
def bundle() -> CaseBundle:
    return make_bundle()


def settings(server: ApiServer, xsd: Path) -> CybertipSettings:
    return CybertipSettings(xsd=xsd, url=server.url, credentials=NcmecCredentials(USER, PASSWORD))


class Faulty(httpx.BaseTransport):
    """Raises before sending a request to ``path`` ("before") or after the server
    answered it ("after": the server acted, the answer is lost)."""

    def __init__(self, path: str, when: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.path, self.when, self.fired = path, when, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hit = request.url.path == self.path and not self.fired
        if hit and self.when == "before":
            self.fired = True
            raise Crash(f"before {self.path}")
        response = self.inner.handle_request(request)
        if hit:
            response.read()
            self.fired = True
            raise Crash(f"after {self.path}")
        return response


def test_a_case_reaches_ncmec(
    api: tuple[ApiServer, ServerState], store: TiplineStore, bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    server, state = api
    result = submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    (finished,) = state.finished()
    assert result.ncmec_report_id == finished.report_id and not result.already_finished
    assert state.calls == ["/status", "/submit", "/finish"]  # never /upload: no media
    # the XML the exporter made, hashes of known material in it (no file was sent)
    assert finished.xml == prepare_report(bundle, ncmec_xsd).xml
    assert b"Known-material hash" in finished.xml
    stored = store.cybertip.submission(bundle.case.case_id, result.service, ACTOR)
    assert stored is not None and stored.step is SubmissionStep.FINISHED
    assert stored.ncmec_report_id == finished.report_id and stored.submits == 1
    assert stored.response is not None and "<reportDoneResponse>" in stored.response
    trail = store.audit.trail(SYSTEM, bundle.case.case_id)
    steps = [e.action for e in trail if e.action.startswith("case.cybertip.") and e.action != "case.cybertip.read"]  # fmt: skip
    assert steps == [
        f"case.cybertip.{s}" for s in ("submitting", "opened", "finishing", "finished")
    ]
    (done,) = [e for e in trail if e.action == "case.cybertip.finished"]
    assert done.detail["ncmec_report_id"] == finished.report_id
    # again: nothing is sent, the stored id is the answer
    again = submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    assert again.already_finished and again.ncmec_report_id == finished.report_id
    assert len(state.calls) == 3 and len(state.reports) == 1


CRASHES = [
    ("transport", "/status", "before"),
    ("transport", "/submit", "before"),
    ("transport", "/submit", "after"),
    ("transport", "/finish", "before"),
    ("transport", "/finish", "after"),
    ("store", SubmissionStep.SUBMITTING, ""),
    ("store", SubmissionStep.OPENED, ""),
    ("store", SubmissionStep.FINISHING, ""),
    ("store", SubmissionStep.FINISHED, ""),
]


@pytest.mark.parametrize("where,point,when", CRASHES, ids=lambda x: str(x))
def test_a_crash_at_any_step_then_a_retry_files_one_report(
    api: tuple[ApiServer, ServerState],
    store: TiplineStore,
    bundle: CaseBundle,
    ncmec_xsd: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    point: str,
    when: str,
) -> None:
    server, state = api
    config = settings(server, ncmec_xsd)
    transport: httpx.BaseTransport | None = None
    if where == "transport":
        transport = Faulty(point, when)
    else:
        record = store.cybertip.record_step

        def crash_before_persisting(case_id: str, service: str, step: SubmissionStep, *a: object, **k: object) -> None:  # fmt: skip
            if step is point:
                raise Crash(f"before persisting {step}")
            record(case_id, service, step, *a, **k)  # type: ignore[arg-type]

        monkeypatch.setattr(store.cybertip, "record_step", crash_before_persisting)
    with pytest.raises(Crash):
        submit_case_bundle(store, bundle, ACTOR, config, transport=transport)
    monkeypatch.undo()  # the process restarts: no fault any more
    result = submit_case_bundle(store, bundle, ACTOR, config)
    finished = state.finished()
    assert [r.report_id for r in finished] == [result.ncmec_report_id]  # exactly one report
    # a lost /submit answer may leave one report open: never finished, NCMEC deletes it
    assert all(r.state == "open" for r in state.reports.values() if r not in finished)
    assert len(state.reports) <= 2
    stored = store.cybertip.submission(bundle.case.case_id, result.service, ACTOR)
    assert stored is not None and stored.step is SubmissionStep.FINISHED
    assert stored.ncmec_report_id == result.ncmec_report_id


def test_a_failed_finish_is_retracted_and_a_retry_opens_anew(
    api: tuple[ApiServer, ServerState], store: TiplineStore, bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    server, state = api
    state.fail_next("/finish", 1000)
    with pytest.raises(SubmissionFailed, match=r"1000 'Server error'.*retracted"):
        submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    (first,) = state.reports.values()
    assert first.state == "retracted" and state.calls[-1] == "/retract"
    service = prepare_report(bundle, ncmec_xsd).service
    stored = store.cybertip.submission(bundle.case.case_id, service, ACTOR)
    assert stored is not None and stored.step is SubmissionStep.RETRACTED
    result = submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    assert [r.report_id for r in state.finished()] == [result.ncmec_report_id]
    assert result.ncmec_report_id != first.report_id


def test_a_report_ncmec_deleted_is_opened_again(
    api: tuple[ApiServer, ServerState],
    store: TiplineStore,
    bundle: CaseBundle,
    ncmec_xsd: Path,
) -> None:
    server, state = api
    config = settings(server, ncmec_xsd)
    with pytest.raises(Crash):
        submit_case_bundle(store, bundle, ACTOR, config, transport=Faulty("/finish", "before"))
    (opened,) = state.reports
    state.expire(opened)  # left unfinished for more than 24 h
    result = submit_case_bundle(store, bundle, ACTOR, config)
    assert [r.report_id for r in state.finished()] == [result.ncmec_report_id] != [opened]
    trail = [e.action for e in store.audit.trail(SYSTEM, bundle.case.case_id)]
    assert "case.cybertip.expired" in trail


def test_the_server_refuses_an_invalid_report(
    api: tuple[ApiServer, ServerState], store: TiplineStore, bundle: CaseBundle
) -> None:
    server, state = api
    client = CybertipClient(server.url, NcmecCredentials(USER, PASSWORD))
    with client, pytest.raises(SubmissionFailed, match=r"answered 4100 .Validation failed"):
        submit_report(store, client, bundle.case.case_id, "svc", b"<report><x/></report>", ACTOR)
    stored = store.cybertip.submission(bundle.case.case_id, "svc", ACTOR)
    assert stored is not None and stored.step is SubmissionStep.REJECTED
    assert stored.ncmec_report_id is None and not state.reports


def test_fileinfo_needs_an_uploaded_file(
    api: tuple[ApiServer, ServerState], shared_dir: Path, bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    """Why the connector never calls /fileinfo: its fileId must name a file uploaded to
    the report, and Daybreak uploads no media (documented answer 5002)."""
    server, _ = api
    example = shared_dir / "standards" / "ncmec" / "examples" / "file_details.from_ncmec_docs.xml"
    with CybertipClient(server.url, NcmecCredentials(USER, PASSWORD)) as client:
        opened = client.submit(prepare_report(bundle, ncmec_xsd).xml)
        assert opened.ok and opened.report_id is not None
        details = example.read_bytes().replace(b"4564654", str(opened.report_id).encode())
        answer = client.fileinfo(details)
    assert answer.code == 5002 and answer.description == "File does not exist"


def test_wrong_credentials_are_refused_and_never_echoed(
    api: tuple[ApiServer, ServerState], store: TiplineStore, bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    server, state = api
    wrong = CybertipSettings(
        xsd=ncmec_xsd, url=server.url, credentials=NcmecCredentials(USER, "not-the-password")
    )
    with pytest.raises(NcmecError, match="HTTP 401") as exc:
        submit_case_bundle(store, bundle, ACTOR, wrong)
    assert "not-the-password" not in str(exc.value) and not state.reports
    assert "not-the-password" not in repr(wrong)


def test_credentials_never_reach_logs_audit_or_output(
    api: tuple[ApiServer, ServerState],
    store: TiplineStore,
    bundle: CaseBundle,
    ncmec_xsd: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, state = api
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    state.fail_next("/finish", 1000)
    with pytest.raises(SubmissionFailed) as failed:
        submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    result = submit_case_bundle(store, bundle, ACTOR, settings(server, ncmec_xsd))
    assert caplog.records and f"report {result.ncmec_report_id} finished" in caplog.text
    stored = store.cybertip.submission(bundle.case.case_id, result.service, ACTOR)
    audit = [e.detail for e in store.audit.trail(SYSTEM)]
    for text in (caplog.text, str(failed.value), json.dumps(audit), repr(stored)):
        assert PASSWORD not in text


def test_credentials_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    env = {"DAYBREAK_NCMEC_USERNAME": USER, "DAYBREAK_NCMEC_PASSWORD": PASSWORD}
    assert NcmecCredentials.load(env) == NcmecCredentials(USER, PASSWORD)
    secret = tmp_path / "ncmec"
    secret.write_text(f"{USER}:{PASSWORD}\n")
    secret.chmod(0o600)
    env = {"DAYBREAK_NCMEC_CREDENTIALS_FILE": str(secret)}
    assert NcmecCredentials.load(env) == NcmecCredentials(USER, PASSWORD)
    secret.chmod(0o644)
    with pytest.raises(NcmecError, match="readable by others; chmod 600"):
        NcmecCredentials.load(env)
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    with pytest.raises(NcmecError, match="expected one line username:password") as exc:
        NcmecCredentials.load(env)
    assert PASSWORD not in str(exc.value)
    with pytest.raises(NcmecError, match="no NCMEC credentials"):
        NcmecCredentials.load({})


def test_https_only_except_loopback() -> None:
    assert base_url("https://exttest.cybertip.org/ispws/") == "https://exttest.cybertip.org/ispws"
    assert base_url("http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    with pytest.raises(NcmecError, match="https only"):
        base_url("http://report.cybertip.org/ispws")
    with pytest.raises(NcmecError, match="--endpoint or DAYBREAK_NCMEC_URL"):
        base_url(None, {})


def test_the_cli_submits_and_a_rerun_does_not_file_again(
    api: tuple[ApiServer, ServerState],
    bundle: CaseBundle,
    ncmec_xsd: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, state = api
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    data_dir = tmp_path / "data"
    with TiplineStore.open(data_dir, dev=True) as s:
        s.cases.upsert([bundle.case])
    world = write_world(bundle, tmp_path / "world")
    org = tmp_path / "org.yaml"
    org.write_text(json.dumps(bundle.org.model_dump(mode="json", exclude_none=True)))
    monkeypatch.setenv("DAYBREAK_NCMEC_USERNAME", USER)
    monkeypatch.setenv("DAYBREAK_NCMEC_PASSWORD", PASSWORD)
    args = ["report", "submit", "--case", bundle.case.case_id, "--data-dir", str(data_dir), "--dev",
            "--world", str(world), "--org-file", str(org), "--xsd", str(ncmec_xsd),
            "--endpoint", server.url]  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    (finished,) = state.finished()
    assert f"reported, NCMEC CyberTipline report {finished.report_id}" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "already reported earlier" in second.output and len(state.reports) == 1
    assert PASSWORD not in first.output + second.output
    missing = runner.invoke(app, [*args[:2], "--case", "NOPE", *args[4:]])
    assert missing.exit_code == 2 and "'NOPE' is not in the store" in missing.output
