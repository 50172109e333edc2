"""Write transactions as an ISO 20022 pacs.008.001.08 message (test helper)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"


def write_pacs008(tx: pl.DataFrame, path: Path) -> None:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><FIToFICstmrCdtTrf>',
             "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-01-01T00:00:00Z</CreDtTm>"
             f"<NbOfTxs>{tx.height}</NbOfTxs></GrpHdr>"]  # fmt: skip
    for r in tx.iter_rows(named=True):
        provider, _, acct = r["receiver_id"].partition(":")
        ref = f"<RmtInf><Ustrd>{escape(r['reference'])}</Ustrd></RmtInf>" if r["reference"] else ""
        parts.append(
            "<CdtTrfTxInf>"
            f"<PmtId><EndToEndId>NOTPROVIDED</EndToEndId><TxId>{r['txn_id']}</TxId></PmtId>"
            f'<IntrBkSttlmAmt Ccy="{r["currency"]}">{r["amount"]:.2f}</IntrBkSttlmAmt>'
            f"<AccptncDtTm>{r['timestamp'].isoformat()}</AccptncDtTm>"
            f"<Dbtr><Nm>{escape(r['sender_name'] or '')}</Nm>"
            f"<PstlAdr><Ctry>{r['sender_country']}</Ctry></PstlAdr></Dbtr>"
            f"<DbtrAcct><Id><Othr><Id>{r['sender_id']}</Id></Othr></Id></DbtrAcct>"
            f"<CdtrAgt><FinInstnId><BICFI>{provider.upper()}</BICFI></FinInstnId></CdtrAgt>"
            f"<Cdtr><Nm>{escape(r['receiver_name'] or '')}</Nm>"
            f"<PstlAdr><Ctry>{r['receiver_country']}</Ctry></PstlAdr></Cdtr>"
            f"<CdtrAcct><Id><Othr><Id>{escape(acct)}</Id></Othr></Id></CdtrAcct>"
            f"{ref}</CdtTrfTxInf>"
        )
    parts.append("</FIToFICstmrCdtTrf></Document>\n")
    path.write_text("".join(parts), encoding="utf-8")
