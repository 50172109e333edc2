"""Stream ISO 20022 pacs.008 (FI-to-FI customer credit transfer) into the public schema.

Parsed with lxml ``iterparse``, element by element, with entity resolution, DTD loading
and validation and network access off. A document that declares a DOCTYPE is refused
outright: pacs.008 never needs one, and refusing it closes XXE and entity-expansion
("billion laughs") attacks instead of relying on parser limits. The refusal is the
parser's own: the first event (the root element's start) is only reached once the
parser has read any DOCTYPE, and the document's ``docinfo`` then says whether there was
one, whatever comes before it (a long comment) and whatever the encoding (UTF-16). lxml
has no DOCTYPE event; a Python parser target would have one but parses ~9x slower.

Rows are streamed: each credit transfer is mapped, then cleared and detached from the
tree with the siblings before it, and rows are handed on in Arrow batches of
``BATCH_ROWS``, so memory holds one batch of Python rows, not the file.

Mapping (one row per ``CdtTrfTxInf``):
txn_id = TxId or EndToEndId or InstrId; timestamp = AccptncDtTm, else the group header's
CreDtTm; sender_id = DbtrAcct IBAN/Othr Id, else Dbtr Id; receiver_id =
"<creditor agent BIC, lower-case, or 'acct'>:<CdtrAcct IBAN/Othr Id>"; countries from
the postal address, else the agent BIC's country letters; amount and currency from
IntrBkSttlmAmt (InstdAmt when present, as the customer's amount); channel "wire";
reference = RmtInf/Ustrd joined; merchant_category empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from lxml import etree


class Pacs008Error(ValueError):
    """A pacs.008 file that cannot be read safely or completely."""


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _find(el: Any, *path: str) -> Any:
    """First descendant following local names ``path`` (namespace-agnostic), found by
    lxml's ElementPath rather than by walking children in Python."""
    return el.find("/".join(f"{{*}}{name}" for name in path))


def _text(el: Any, *path: str) -> str | None:
    node = _find(el, *path)
    if node is None or node.text is None:
        return None
    value = str(node.text).strip()
    return value or None


def _account(el: Any, acct: str) -> str | None:
    return _text(el, acct, "Id", "IBAN") or _text(el, acct, "Id", "Othr", "Id")


def _party_id(el: Any, party: str) -> str | None:
    return _text(el, party, "Id", "PrvtId", "Othr", "Id") or _text(
        el, party, "Id", "OrgId", "Othr", "Id"
    )


def _bic(el: Any, agent: str) -> str | None:
    return _text(el, agent, "FinInstnId", "BICFI") or _text(el, agent, "FinInstnId", "BIC")


def _country(el: Any, party: str, agent: str) -> str | None:
    country = _text(el, party, "PstlAdr", "Ctry") or _text(el, party, "CtryOfRes")
    if country:
        return country
    bic = _bic(el, agent)
    return bic[4:6].upper() if bic and len(bic) >= 6 else None


def _utc(value: str | None) -> str | None:
    """ISO date-times with an offset, as UTC with Z; anything else is left for the schema
    check to report with its row number."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


COLUMNS = (
    "txn_id", "timestamp", "sender_id", "sender_name", "sender_country", "receiver_id",
    "receiver_name", "receiver_country", "amount", "currency", "channel", "reference",
    "merchant_category",
)  # fmt: skip
ARROW_SCHEMA = pa.schema([(c, pa.string()) for c in COLUMNS])
BATCH_ROWS = 10_000
# The elements the reader needs events for; every other element is still parsed (and
# released with its transfer), but costs no Python call.
_TAGS = ("{*}Document", "{*}GrpHdr", "{*}CdtTrfTxInf")


def _refuse_dtd(path: Path, el: Any) -> None:
    """The parser has read the prolog by the time it reports any element: a DOCTYPE
    there (internal subset or external id) shows in the document info."""
    info = el.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise Pacs008Error(
            f"{path}: refused, the document declares a DOCTYPE or ENTITY; pacs.008 files "
            "never need one (this blocks XXE and entity-expansion attacks)"
        )


def _release(el: Any) -> None:
    """Free a mapped element and everything before it at its level: without this the
    tree keeps one (empty) element per transfer and grows with the file."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def iter_transfer_elements(path: Path) -> Iterator[tuple[Any, str | None]]:
    """Each ``CdtTrfTxInf`` element (lxml) with the group header's ``CreDtTm``, parsed
    as safely as every pacs.008 read (a DOCTYPE is refused, no entities, no network)
    and released from the tree once the caller moves on, so memory does not grow with
    the file. For a reader that maps fields the transactions schema does not hold (a
    ``daybreak.sources`` plug-in); an element must not be kept past its turn."""
    with path.open("rb") as source:  # closed even when the document is refused
        yield from _transfers_in(path, source)


def _transfers_in(path: Path, source: Any) -> Iterator[tuple[Any, str | None]]:
    context = etree.iterparse(
        source,
        events=("start", "end"),
        tag=_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    created: str | None = None
    checked = False
    try:
        for event, el in context:
            if not checked:
                _refuse_dtd(path, el)
                checked = True
            if event != "end":
                continue
            name = _local(el.tag)
            if name == "GrpHdr":
                created = created or _text(el, "CreDtTm")
                _release(el)
            elif name == "CdtTrfTxInf":
                yield el, created
                _release(el)
        if not checked and context.root is not None:
            _refuse_dtd(path, context.root)
    except etree.XMLSyntaxError as exc:
        raise Pacs008Error(f"{path}: not well-formed XML ({exc})") from exc


def _row(el: Any, created: str | None, fallback_id: str) -> dict[str, str | None]:
    """One credit transfer in the transactions columns (see the module docstring)."""
    amt = _find(el, "InstdAmt")
    if amt is None:  # not `or`: an element without children is false
        amt = _find(el, "IntrBkSttlmAmt")
    ids = [_text(el, "PmtId", k) for k in ("TxId", "EndToEndId", "InstrId")]
    txn_id = next((i for i in ids if i and i != "NOTPROVIDED"), None)
    bic = _bic(el, "CdtrAgt")
    acct = _account(el, "CdtrAcct")
    refs = [str(u.text).strip() for u in el.iter("{*}Ustrd") if u.text]  # any depth
    return {
        "txn_id": txn_id or fallback_id,
        "timestamp": _utc(_text(el, "AccptncDtTm") or created),
        "sender_id": _account(el, "DbtrAcct") or _party_id(el, "Dbtr"),
        "sender_name": _text(el, "Dbtr", "Nm"),
        "sender_country": _country(el, "Dbtr", "DbtrAgt"),
        "receiver_id": f"{(bic or 'acct').lower()}:{acct}" if acct else None,
        "receiver_name": _text(el, "Cdtr", "Nm"),
        "receiver_country": _country(el, "Cdtr", "CdtrAgt"),
        "amount": amt.text.strip() if amt is not None and amt.text else None,
        "currency": amt.get("Ccy") if amt is not None else None,
        "channel": "wire",
        "reference": " ".join(refs) or None,
        "merchant_category": None,
    }


def iter_pacs008(path: Path) -> Iterator[dict[str, str | None]]:
    """The credit transfers one by one, as rows of the transactions columns."""
    for n, (el, created) in enumerate(iter_transfer_elements(path), start=1):
        yield _row(el, created, f"{path.name}#{n}")


def rows_from_message(data: bytes, name: str) -> list[dict[str, str | None]]:
    """The credit transfers of one message held in memory (an API request body), parsed
    as safely as a file; ``name`` names it in errors."""
    import io

    where = Path(name)
    return [
        _row(el, created, f"{name}#{n}")
        for n, (el, created) in enumerate(_transfers_in(where, io.BytesIO(data)), start=1)
    ]


def iter_pacs008_batches(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The rows as Arrow record batches (all strings) of at most ``batch_rows``."""
    _check_file(path)
    columns: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    filled = 0
    for row in iter_pacs008(path):
        for c in COLUMNS:
            columns[c].append(row[c])
        filled += 1
        if filled == batch_rows:
            yield pa.RecordBatch.from_pydict(columns, schema=ARROW_SCHEMA)
            columns, filled = {c: [] for c in COLUMNS}, 0
    if filled:
        yield pa.RecordBatch.from_pydict(columns, schema=ARROW_SCHEMA)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise Pacs008Error(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise Pacs008Error(f"{path}: file is empty")


def write_pacs008_parquet(path: Path, out: Path, batch_rows: int = BATCH_ROWS) -> int:
    """Stream the credit transfers into a Parquet file of string columns, one row group
    per batch; returns the number of rows. Nothing but one batch is held in memory."""
    rows = 0
    with pq.ParquetWriter(out, ARROW_SCHEMA) as writer:
        for batch in iter_pacs008_batches(path, batch_rows):
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def read_pacs008(path: Path) -> pl.DataFrame:
    """All credit transfers as a string frame in the transactions column order; the
    caller validates it with the public schema like any flat file. Held as Arrow
    columns, never as Python rows."""
    table = pa.Table.from_batches(list(iter_pacs008_batches(path)), schema=ARROW_SCHEMA)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
