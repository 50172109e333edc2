"""configure_console reaches any backend through the ConsoleBackend interface."""

from __future__ import annotations

from typing import Any, cast

from console_world import build_backend, build_cases
from fastapi import FastAPI

from daybreak.console import configure_console, mount_console
from daybreak.console.backend import ConsoleBackend, ConsoleUser, Role
from daybreak.console.exports import CaseExporter, ExportersPackage
from daybreak.console.manage import Manage
from daybreak.console.store_backend import StoreBackend
from daybreak.model.alerts import Alert
from daybreak.store import TiplineStore


class Delegating:
    """A backend of someone else's: none of the console's classes, the interface only."""

    def __init__(self, inner: ConsoleBackend) -> None:
        self.inner = inner
        self.calls: list[tuple[Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def configure(self, *, alerts: Any = None, exporter: CaseExporter | None = None) -> None:
        self.calls.append((alerts, exporter))
        self.inner.configure(alerts=alerts, exporter=exporter)


def test_configure_console_configures_a_backend_it_does_not_know() -> None:
    _, alerts = build_cases()
    backend = Delegating(build_backend())
    app = FastAPI()
    mount_console(app, cast(ConsoleBackend, backend), manage=Manage())
    state = configure_console(app, alerts=alerts[:2], warm_exporters=False)
    assert state.backend is backend
    [(given, exporter)] = backend.calls
    assert list(given) == alerts[:2]
    assert isinstance(exporter, ExportersPackage)
    viewer = ConsoleUser("a", Role.ANALYST)
    assert list(backend.inner.alerts(viewer)) == alerts[:2]


def test_store_backend_keeps_its_alerts_when_none_are_given() -> None:
    first: list[Alert] = build_cases()[1][:1]
    backend = StoreBackend(cast(TiplineStore, object()), first)
    exporter = ExportersPackage()
    backend.configure(alerts=None, exporter=exporter)
    assert backend.alerts_source is first
    assert backend._exporter is exporter
    backend.configure(alerts=[])
    assert backend.alerts_source == [] and backend._exporter is exporter
