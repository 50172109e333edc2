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
    with pytest.raises(
        PaymentsInputError, match=r"no transactions in the file \(ISO 20022 pacs.008"
    ):
        read_transactions(none)


def test_bad_rows_in_xml_are_reported_by_row(tmp_path: Path) -> None:
    tx, _ = tiny_world()
    tx = _wires(tx).head(3).with_columns(pl.lit("ZZZ").alias("currency"))
    path = tmp_path / "pacs.xml"
    write_pacs008(tx, path)
    with pytest.raises(PaymentsInputError, match=r"pacs.xml, row 1, column 'currency'"):
        read_transactions(path)


def _minimal(prolog: str = "", encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>{prolog}'
        "<Document><FIToFICstmrCdtTrf><CdtTrfTxInf><PmtId><TxId>T1</TxId></PmtId>"
        "<RmtInf><Ustrd>&x;</Ustrd></RmtInf></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>"
    )


DTD = '<!DOCTYPE Document [<!ENTITY x "expanded">]>'


def test_a_doctype_after_a_70_kib_comment_is_refused_by_the_parser(tmp_path: Path) -> None:
    """Issue #18 item 8: the old pre-check read only the first 64 KiB."""
    path = tmp_path / "late.xml"
    path.write_text(_minimal("<!--" + "x" * 70 * 1024 + "-->" + DTD), encoding="utf-8")
    with pytest.raises(Pacs008Error, match="DOCTYPE or ENTITY"):
        read_pacs008(path)
    with pytest.raises(PaymentsInputError, match="DOCTYPE or ENTITY"):
        read_transactions(path)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_doctype_is_refused_by_the_parser(tmp_path: Path, codec: str) -> None:
    """The old pre-check looked for ASCII bytes, which UTF-16 does not have."""
    path = tmp_path / "wide.xml"
    path.write_bytes(_minimal(DTD, "UTF-16").encode(codec))
    with pytest.raises(Pacs008Error, match="DOCTYPE or ENTITY"):
        read_pacs008(path)


def test_an_external_doctype_with_no_transfers_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "ext.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><Other/>',
        encoding="utf-8",
    )
    with pytest.raises(Pacs008Error, match="DOCTYPE or ENTITY"):
        read_pacs008(path)


def test_utf16_without_a_doctype_reads(tmp_path: Path) -> None:
    path = tmp_path / "wide.xml"
    path.write_bytes(_minimal().replace("&x;", "ref").replace("UTF-8", "UTF-16").encode("utf-16"))
    assert read_pacs008(path).select("txn_id", "reference").rows() == [("T1", "ref")]


def test_instructed_amount_is_preferred_to_the_settlement_amount(tmp_path: Path) -> None:
    path = tmp_path / "instd.xml"
    path.write_text(
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf>'
        "<CdtTrfTxInf><PmtId><TxId>T1</TxId></PmtId>"
        '<IntrBkSttlmAmt Ccy="EUR">90.00</IntrBkSttlmAmt><InstdAmt Ccy="AUD">150.00</InstdAmt>'
        "</CdtTrfTxInf></FIToFICstmrCdtTrf></Document>",
        encoding="utf-8",
    )
    assert read_pacs008(path).select("amount", "currency").rows() == [("150.00", "AUD")]


def _many(tmp_path: Path, rows: int) -> Path:
    tx, _ = tiny_world()
    tx = _wires(tx)
    copies = [
        tx.with_columns((pl.col("txn_id") + f"-{i}").alias("txn_id"))
        for i in range(rows // tx.height + 1)
    ]
    path = tmp_path / f"many-{rows}.xml"
    write_pacs008(pl.concat(copies).head(rows), path)
    return path


def test_transfers_are_released_as_they_are_read(tmp_path: Path) -> None:
    """Nothing read stays in the tree: each transfer is cleared and detached with the
    siblings before it (what is still there was parsed ahead, a chunk of the file)."""
    from daybreak.payments.pacs008 import iter_transfer_elements

    before, held = [], []
    for el, _ in iter_transfer_elements(_many(tmp_path, 3000)):
        before.append(el.getparent().index(el))
        held.append(len(el.getparent()))
    assert len(before) == 3000
    assert max(before) <= 1  # at most the group header, cleared
    assert max(held) < 200  # a read-ahead chunk, not the 3,000 transfers


def test_python_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Issue #18 item 8: rows were all held as Python dicts (81 MB of XML took 614 MB).
    Now one batch is: four times the rows must not take four times the memory."""
    import tracemalloc

    from daybreak.payments.pacs008 import write_pacs008_parquet

    def peak(path: Path) -> int:
        tracemalloc.start()
        try:
            rows = write_pacs008_parquet(path, path.with_suffix(".parquet"), batch_rows=500)
            return tracemalloc.get_traced_memory()[1] if rows else 0
        finally:
            tracemalloc.stop()

    small, large = peak(_many(tmp_path, 2000)), peak(_many(tmp_path, 8000))
    assert small > 0 and large < 1.5 * small, (small, large)
    frame = read_transactions(_many(tmp_path, 8000))
    assert frame.height == 8000 and frame["txn_id"].n_unique() == 8000


def test_pacs008_passes_the_source_kit(tmp_path: Path) -> None:
    from daybreak.plugins import sources
    from daybreak.testing import check_source

    write_pacs008(_wires(tiny_world()[0]), tmp_path / "pacs.xml")
    (tmp_path / "other.xml").write_text("<Document><Nothing/></Document>", "utf-8")
    frame = check_source(sources()["pacs008"], tmp_path / "pacs.xml", tmp_path / "other.xml")
    assert frame.height == _wires(tiny_world()[0]).height
