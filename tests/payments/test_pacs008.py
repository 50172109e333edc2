"""pacs.008 intake: streamed, mapped to the public schema, and safe against XXE/bombs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.payments import scan
from daybreak.payments.inputs import PaymentsInputError, read_transactions
from daybreak.payments.pacs008 import Pacs008Error, read_pacs008
from payments.pacs import write_pacs008
from payments.tiny import tiny_world


def _wires(tx: pl.DataFrame) -> pl.DataFrame:
    # pacs.008 carries credit transfers, not card purchases
    return tx.filter(pl.col("channel") != "card").with_columns(pl.lit("wire").alias("channel"))


def test_pacs008_maps_every_field(tmp_path: Path) -> None:
    tx, _ = tiny_world()
    tx = _wires(tx)
    path = tmp_path / "pacs.xml"
    write_pacs008(tx, path)
    got = read_transactions(path)
    assert got.height == tx.height
    row = got.filter(pl.col("txn_id") == "T00001").row(0, named=True)
    want = tx.filter(pl.col("txn_id") == "T00001").row(0, named=True)
    for col in ("sender_id", "sender_name", "sender_country", "receiver_name",
                "receiver_country", "amount", "currency", "reference", "timestamp"):  # fmt: skip
        assert row[col] == want[col], col
    assert row["receiver_id"] == "gcash:+639170000001"


def test_pacs008_scan_finds_the_same_payers_as_parquet(tmp_path: Path) -> None:
    tx, cu = tiny_world()
    tx = _wires(tx)
    write_pacs008(tx, tmp_path / "pacs.xml")
    tx.write_parquet(tmp_path / "tx.parquet")
    cu.write_parquet(tmp_path / "cu.parquet")
    from_xml = scan(tmp_path / "pacs.xml", customers=tmp_path / "cu.parquet")
    from_parquet = scan(tmp_path / "tx.parquet", customers=tmp_path / "cu.parquet")
    assert [(a.subject_id, a.score) for a in from_xml.alerts] == [
        (a.subject_id, a.score) for a in from_parquet.alerts
    ]
    assert from_xml.alerts


XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><FIToFICstmrCdtTrf><CdtTrfTxInf><RmtInf><Ustrd>&x;</Ustrd></RmtInf>
</CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document><FIToFICstmrCdtTrf><CdtTrfTxInf><RmtInf><Ustrd>&lol3;</Ustrd></RmtInf>
</CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"""


@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["xxe", "entity-bomb"])
def test_doctype_and_entities_are_refused(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(payload, encoding="utf-8")
    with pytest.raises(Pacs008Error, match="DOCTYPE or ENTITY"):
        read_pacs008(path)


def test_malformed_and_empty_xml_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<Document><FIToFICstmrCdtTrf><CdtTrfTxInf>", encoding="utf-8")
    with pytest.raises(PaymentsInputError, match="not well-formed"):
        read_transactions(bad)
    none = tmp_path / "none.xml"
    none.write_text("<Document><FIToFICstmrCdtTrf/></Document>", encoding="utf-8")
    with pytest.raises(PaymentsInputError, match="no credit transfers"):
        read_transactions(none)


def test_bad_rows_in_xml_are_reported_by_row(tmp_path: Path) -> None:
    tx, _ = tiny_world()
    tx = _wires(tx).head(3).with_columns(pl.lit("ZZZ").alias("currency"))
    path = tmp_path / "pacs.xml"
    write_pacs008(tx, path)
    with pytest.raises(PaymentsInputError, match=r"pacs.xml, row 1, column 'currency'"):
        read_transactions(path)
