"""Plug-in registries: Daybreak's own parts load by entry point like a plug-in's, the
example plug-in (examples/daybreak-example-plugin, a dev dependency) is found by every
face, and a broken or clashing plug-in is a clear error."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from daybreak import plugins
from daybreak.cli.main import app
from daybreak.detectors.info import detectors
from daybreak.exporters import exporters
from daybreak.media.banks import normalize_hash
from daybreak.model.signal_types import SignalType
from daybreak.schema import TABLES
from daybreak.tipline.intake import MediaHash

runner = CliRunner()


def test_built_ins_come_from_the_entry_points() -> None:
    assert list(exporters())[:4] == ["goaml", "cybertip", "stix", "ftm"]
    assert list(detectors())[:3] == ["payments", "tipline", "media"]
    assert list(plugins.signal_types()) == ["pdq", "md5", "sha256"]
    assert "pacs008" in plugins.sources()
    assert "case_json" in exporters() and "round_amounts" in detectors()  # the example


def test_listing_imports_no_heavy_library() -> None:
    code = (
        "import sys; from daybreak.exporters import exporters; "
        "from daybreak.detectors.info import detectors; exporters(); detectors(); "
        "print(sorted(m for m in ('xmlschema', 'stix2', 'followthemoney', 'duckdb', "
        "'polars', 'lxml') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_lists_every_registered_plugin() -> None:
    formats = runner.invoke(app, ["export", "--list"])
    assert formats.exit_code == 0, formats.output
    for name in ("goaml", "cybertip", "stix", "ftm", "case_json"):
        assert name in formats.output
    found = runner.invoke(app, ["detect", "--list"])
    assert found.exit_code == 0, found.output
    for name in ("payments", "tipline", "media", "round_amounts"):
        assert name in found.output
    helped = runner.invoke(app, ["detect", "round_amounts", "--help"])
    assert "--min-payments" in helped.output  # a plug-in's own option


def test_a_plugin_signal_type_is_accepted_everywhere(
    extra_entry_points: list[EntryPoint],
) -> None:
    extra_entry_points.append(EntryPoint("sha1", f"{__name__}:Sha1Signal", plugins.SIGNAL_TYPES))
    assert list(plugins.signal_types()) == ["pdq", "md5", "sha256", "sha1"]
    assert normalize_hash("SHA-1", "A" * 40) == ("sha1", "a" * 40)
    assert "sha1" in TABLES["media_sightings"].column("hash_type").choices
    assert MediaHash(type="sha1", value="b" * 40).value == "b" * 40
    with pytest.raises(ValueError, match="sha1 hash must be 40 hex digits"):
        MediaHash(type="sha1", value="b" * 64)


class Sha1Signal(SignalType):
    name = "sha1"
    label = "SHA-1 (file, exact)"
    aliases = ("sha1", "sha-1")
    hex_length = 40


def test_clashing_and_misnamed_plugins_are_clear_errors(
    extra_entry_points: list[EntryPoint],
) -> None:
    extra_entry_points.append(
        EntryPoint("stix", "daybreak.exporters:formats.STIX", plugins.EXPORTERS)
    )
    with pytest.raises(plugins.PluginError, match="two plug-ins claim the name 'stix'"):
        exporters()
    extra_entry_points[:] = [
        EntryPoint("stix2", "daybreak.exporters.formats:STIX", plugins.EXPORTERS)
    ]
    plugins.refresh()
    with pytest.raises(plugins.PluginError, match="describes itself as 'stix'"):
        exporters()
    extra_entry_points[:] = [EntryPoint("gone", "no_such_pkg.info:X", plugins.DETECTORS)]
    plugins.refresh()
    with pytest.raises(plugins.PluginError, match=r"'gone'.*cannot be imported"):
        detectors()
    extra_entry_points[:] = [
        EntryPoint("pdq2", "daybreak.exporters.formats:STIX", plugins.SIGNAL_TYPES)
    ]
    plugins.refresh()
    with pytest.raises(plugins.PluginError, match="expected a SignalType"):
        plugins.signal_types()


def test_signal_types_define_validation_and_distance() -> None:
    pdq = plugins.signal_type("PDQ")
    assert pdq.distance("0" * 64, "0" * 63 + "7") == 3 and not pdq.exact()
    assert pdq.matches("0" * 64, "f" + "0" * 63) and not pdq.matches("0" * 64, "f" * 8 + "0" * 56)
    md5 = plugins.signal_type("video_md5")
    assert md5.name == "md5" and md5.exact() and md5.min_quality is None
    with pytest.raises(ValueError, match="unsupported hash type 'tmk'"):
        plugins.signal_type("tmk")


def read_tab_separated(path: Path) -> pl.DataFrame:
    """A third-party source's reader: tab-separated text in the transactions columns."""
    return pl.read_csv(path, separator="\t", infer_schema=False)


TSV = plugins.SourceInfo(
    name="tsv",
    label="Tab-separated transactions",
    table="transactions",
    reader=f"{__name__}:read_tab_separated",
    suffixes=(".tsv",),
)


def test_a_plugin_source_reads_transactions_for_the_scan(
    extra_entry_points: list[EntryPoint], tmp_path: Path
) -> None:
    from daybreak.payments.inputs import PaymentsInputError, read_transactions
    from payments.tiny import tiny_world

    extra_entry_points.append(EntryPoint("tsv", f"{__name__}:TSV", plugins.SOURCES))
    assert plugins.source_for(tmp_path / "x.TSV", "transactions") == TSV
    assert plugins.source_for(tmp_path / "x.xml", "transactions") == plugins.sources()["pacs008"]
    assert plugins.source_for(tmp_path / "x.csv", "transactions") is None
    tx = tiny_world()[0]
    tx.write_csv(tmp_path / "tx.csv")
    tx.write_csv(tmp_path / "tx.tsv", separator="\t")
    assert read_transactions(tmp_path / "tx.tsv").equals(read_transactions(tmp_path / "tx.csv"))
    tx.with_columns(pl.lit("A1").alias("currency")).write_csv(tmp_path / "bad.tsv", separator="\t")
    with pytest.raises(PaymentsInputError, match=r"bad\.tsv, row 1, column 'currency'"):
        read_transactions(tmp_path / "bad.tsv")
