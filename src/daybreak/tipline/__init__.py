"""The tipline core: intake records, triage, clustering, routing and NCMEC import.

No web imports here; the HTTP face is :mod:`daybreak.api`, the store :mod:`daybreak.store`
(which also loads a world's reports: :func:`daybreak.store.world.load_world_reports`).
"""

from daybreak.tipline.intake import (
    IncidentType,
    Indicator,
    ReporterType,
    ReportIn,
    report_identifiers,
)
from daybreak.tipline.routing import AgencyTable, Route, route
from daybreak.tipline.triage import Triage, TriageContext, triage
from daybreak.tipline.world import cluster_alert, report_alerts, world_reports

__all__ = [
    "AgencyTable",
    "IncidentType",
    "Indicator",
    "ReportIn",
    "ReporterType",
    "Route",
    "Triage",
    "TriageContext",
    "cluster_alert",
    "report_alerts",
    "report_identifiers",
    "route",
    "triage",
    "world_reports",
]
