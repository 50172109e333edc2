"""Stream ISO 20022 pacs.008 (FI-to-FI customer credit transfer) into the public schema.

Parsed with lxml ``iterparse``, element by element, with entity resolution, DTD loading
and network access off. A document that declares a DOCTYPE is refused outright: pacs.008
never needs one, and refusing it closes XXE and entity-expansion ("billion laughs")
attacks instead of relying on parser limits.

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
from lxml import etree

_HEAD_BYTES = 65536


class Pacs008Error(ValueError):
    """A pacs.008 file that cannot be read safely or completely."""


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _find(el: Any, *path: str) -> Any:
    """First descendant following local names ``path`` (namespace-agnostic)."""
    cur = el
    for name in path:
        nxt = None
        for child in cur:
            if _local(child.tag) == name:
                nxt = child
                break
        if nxt is None:
            return None
        cur = nxt
    return cur


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


def check_safe(path: Path) -> None:
    """Refuse a document with a DOCTYPE or ENTITY declaration before parsing it."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    lowered = head.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise Pacs008Error(
            f"{path}: refused, the document declares a DOCTYPE or ENTITY; pacs.008 files "
            "never need one (this blocks XXE and entity-expansion attacks)"
        )


def iter_pacs008(path: Path) -> Iterator[dict[str, Any]]:
    check_safe(path)
    created: str | None = None
    context = etree.iterparse(
        str(path),
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    n = 0
    try:
        for _event, el in context:
            name = _local(el.tag)
            if name == "CreDtTm" and created is None and el.text:
                created = el.text.strip()
            if name == "DOCTYPE":  # pragma: no cover - refused earlier
                raise Pacs008Error(f"{path}: DOCTYPE is not allowed")
            if name != "CdtTrfTxInf":
                continue
            n += 1
            amt = _find(el, "InstdAmt") or _find(el, "IntrBkSttlmAmt")
            ids = [_text(el, "PmtId", k) for k in ("TxId", "EndToEndId", "InstrId")]
            txn_id = next((i for i in ids if i and i != "NOTPROVIDED"), None)
            bic = _bic(el, "CdtrAgt")
            acct = _account(el, "CdtrAcct")
            refs = [str(u.text).strip() for u in el.iter() if _local(u.tag) == "Ustrd" and u.text]
            yield {
                "txn_id": txn_id or f"{path.name}#{n}",
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
            el.clear()
    except etree.XMLSyntaxError as exc:
        raise Pacs008Error(f"{path}: not well-formed XML ({exc})") from exc


def read_pacs008(path: Path) -> pl.DataFrame:
    """All credit transfers as a string frame in the transactions column order; the
    caller validates it with the public schema like any flat file."""
    if not path.is_file():
        raise Pacs008Error(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise Pacs008Error(f"{path}: file is empty")
    rows = list(iter_pacs008(path))
    columns = [
        "txn_id", "timestamp", "sender_id", "sender_name", "sender_country", "receiver_id",
        "receiver_name", "receiver_country", "amount", "currency", "channel", "reference",
        "merchant_category",
    ]  # fmt: skip
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")
