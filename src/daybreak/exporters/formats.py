"""Daybreak's own export formats, registered by entry point like any plug-in's.

``pyproject.toml`` names each object below under ``[project.entry-points."daybreak.exporters"]``.
This module imports nothing heavy: the exporters themselves (lxml, xmlschema, stix2,
followthemoney) are imported when one is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daybreak.exporters.info import ExporterInfo, ExportOption, SchemaSetting

if TYPE_CHECKING:
    from daybreak.exporters.bundle import CaseBundle


def hub_without_alerts(bundle: CaseBundle) -> str | None:
    """A filing rests on the case's own suspicion. A hub case with no alerts of its own
    has none: what it would carry (records naming the hub) is its sub-cases' evidence,
    filed with them. Its case JSON lists the hub and its sub-cases."""
    case = bundle.case
    if case.hub_key and not case.alert_ids:
        return (
            f"a hub case with no alerts of its own: file from its {len(case.sub_cases)} "
            "sub-case(s), which hold the evidence; the case JSON export lists the hub "
            "and its sub-cases"
        )
    return None


def goaml_unavailable(bundle: CaseBundle) -> str | None:
    if hub := hub_without_alerts(bundle):
        return hub
    if not bundle.transactions and not bundle.reports:
        return "the case has neither transactions nor reported accounts"
    return None


def cybertip_unavailable(bundle: CaseBundle) -> str | None:
    if hub := hub_without_alerts(bundle):
        return hub
    if not bundle.reports and not bundle.matched_sightings():
        return "the case has no tipline reports and no media that matched a known-material list"
    return None


GOAML = ExporterInfo(
    name="goaml",
    order=0,
    label="goAML STR (XML)",
    media_type="application/xml",
    suffix="xml",
    description="goAML STR/SAR XML for a financial intelligence unit.",
    factory="daybreak.exporters.goaml:GoamlExporter",
    schema=SchemaSetting(
        what="the FIU's goAML XSD",
        envvar="DAYBREAK_GOAML_XSD",
        standards_path="goaml/uae_fiu_5.0.2/goAMLSchema.xsd",
        help="The FIU's goAML XSD (validated against).",
    ),
    options=(
        ExportOption(
            "profile",
            "--profile",
            "FIU profile: built-in name (uae-5.0.2, srilanka-2.0) or YAML file. "
            "Default: the built-in profile whose codes the XSD accepts.",
        ),
        ExportOption(
            "regex_dialect",
            "--regex-dialect",
            "How to read '^...$' patterns in the XSD: auto (as the goAML portal does when "
            "present), xsd (strict W3C: literal characters) or ecmascript.",
            choices=("auto", "xsd", "ecmascript"),
            default="auto",
        ),
    ),
    unavailable="daybreak.exporters.formats:goaml_unavailable",
)

CYBERTIP = ExporterInfo(
    name="cybertip",
    order=1,
    label="NCMEC CyberTipline (XML)",
    media_type="application/xml",
    suffix="xml",
    description=(
        "NCMEC CyberTipline <report> XML: the case's tipline reports and known-hash matches."
    ),
    factory="daybreak.exporters.cybertip:CybertipExporter",
    schema=SchemaSetting(
        what="NCMEC's cybertipline_report.xsd",
        envvar="DAYBREAK_NCMEC_XSD",
        standards_path="ncmec/cybertipline_report.xsd",
        help="NCMEC's cybertipline_report.xsd.",
    ),
    options=(
        ExportOption(
            "incident_type",
            "--incident-type",
            "The analyst's CyberTipline incident type (one of the XSD's values); "
            "needed when no report category maps to one.",
        ),
        ExportOption(
            "service",
            "--service",
            "Which of the case's services to report (one report per service); "
            "default: the one with the most evidence (the others are listed as notes).",
        ),
        ExportOption(
            "prior_reports",
            "--prior-report",
            "An earlier CyberTipline report id about the reported user.",
            kind="int",
            multiple=True,
        ),
    ),
    unavailable="daybreak.exporters.formats:cybertip_unavailable",
)

STIX = ExporterInfo(
    name="stix",
    order=2,
    label="STIX 2.1 bundle (JSON)",
    media_type="application/stix+json;version=2.1",
    suffix="json",
    description="STIX 2.1 bundle (identity, observables, indicators, sightings, grouping, TLP).",
    factory="daybreak.exporters.stix:StixExporter",
)

FTM = ExporterInfo(
    name="ftm",
    order=3,
    label="FollowTheMoney entities (JSON lines)",
    media_type="application/x-ndjson",
    suffix="jsonl",
    description="FollowTheMoney entities as JSON lines (loadable into OpenAleph).",
    factory="daybreak.exporters.ftm:FtmExporter",
)
