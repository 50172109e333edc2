"""The plug-in's descriptions, named by its entry points. Imports nothing heavy: the
detector, exporter and source load when they run."""

from __future__ import annotations

from daybreak.detectors.info import DetectorInfo, DetectorOption
from daybreak.exporters.info import ExporterInfo
from daybreak.plugins import SourceInfo

ROUND_AMOUNTS = DetectorInfo(
    name="round_amounts",
    label="Round cross-border amounts (example)",
    description=(
        "Customers who send several round amounts (whole multiples of 50) to receivers "
        "in another country. An example plug-in, not a typology to rely on."
    ),
    factory="daybreak_example.detector:RoundAmountsDetector",
    read_world="daybreak_example.detector:transactions_of",
    reads=("transactions",),
    options=(
        DetectorOption(
            "min_payments",
            "--min-payments",
            "Round cross-border payments a customer needs before an alert.",
            kind="int",
            default=5,
        ),
    ),
)

CASE_JSON = ExporterInfo(
    name="case_json",
    label="Case record (JSON, example)",
    media_type="application/json",
    suffix="json",
    description="The case record as JSON, validated by Daybreak's Case model (an example).",
    factory="daybreak_example.exporter:CaseJsonExporter",
)

LEDGER = SourceInfo(
    name="ledger",
    label="Ledger export (semicolon-separated, example)",
    table="transactions",
    reader="daybreak_example.source:read_ledger",
    suffixes=(".ledger",),
    description="A core-banking ledger export with its own column names and a decimal "
    "comma, read into the transactions schema (an example).",
)
