"""FollowTheMoney entities valid in the followthemoney model."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from followthemoney import model

from daybreak.exporters import export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.ftm import FtmExporter
from exporters.conftest import HANDLE, make_bundle


def _entities(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def test_entities_and_links(bundle: CaseBundle) -> None:
    ents = _entities(export_case("ftm", bundle))
    by_id = {e["id"]: e for e in ents}
    schemata = {e["schema"] for e in ents}
    assert {"Person", "BankAccount", "Ownership", "Payment", "UserAccount", "Event", "Note", "Identification"} <= schemata  # fmt: skip
    for e in ents:  # the model loads each one back
        proxy = model.get_proxy(e)
        assert proxy.schema.name == e["schema"]
    payments = [e for e in ents if e["schema"] == "Payment"]
    assert sorted(p["properties"]["transactionNumber"][0] for p in payments) == ["T1", "T2"]
    t1 = next(p for p in payments if p["properties"]["transactionNumber"] == ["T1"])
    payer = by_id[t1["properties"]["payer"][0]]
    beneficiary = by_id[t1["properties"]["beneficiary"][0]]
    assert payer["properties"]["name"] == ["John O'Brien"]
    assert payer["properties"]["firstName"] == ["John"]
    assert payer["properties"]["lastName"] == ["O'Brien"]
    assert payer["properties"]["email"] == ["john@example.com"]
    assert beneficiary["properties"]["name"] == ["María de la Cruz"]
    assert beneficiary["properties"]["lastName"] == ["de la Cruz"]
    account = by_id[t1["properties"]["beneficiaryAccount"][0]]
    assert account["properties"]["accountNumber"] == ["+639171234567"]
    assert account["properties"]["bankName"] == ["gcash"]
    owned = [
        e
        for e in ents
        if e["schema"] == "Ownership" and e["properties"]["asset"] == [account["id"]]
    ]
    assert owned and owned[0]["properties"]["owner"] == [beneficiary["id"]]
    accounts = {e["properties"]["username"][0]: e for e in ents if e["schema"] == "UserAccount"}
    assert accounts["u123"]["properties"]["owner"] == [beneficiary["id"]]
    assert set(accounts["u123"]["properties"]["ipAddress"]) == {"203.0.113.5", "198.51.100.7"}
    (event,) = [e for e in ents if e["schema"] == "Event"]
    links = [e for e in ents if e["schema"] == "UnknownLink"]
    assert {(lk["properties"]["subject"][0], lk["properties"]["object"][0]) for lk in links} == {
        (accounts["u123"]["id"], event["id"]),
        (accounts["coolguy"]["id"], event["id"]),
    }


def _valid(data: bytes) -> list[dict[str, Any]]:
    assert FtmExporter().validate(data) == []
    return _entities(data)


def test_names_are_split_as_written(bundle: CaseBundle) -> None:
    """Defect 4: the comma form is "FAMILY, Given"."""
    customers = [dict(c, name="STEWART, Matthew") if c["customer_id"] == "C1" else c for c in bundle.customers]  # fmt: skip
    txns = [dict(t, receiver_name="DE LEON, Maria Magbanua") for t in bundle.transactions]
    ents = _valid(export_case("ftm", replace(bundle, customers=customers, transactions=txns)))
    names = {
        e["properties"]["name"][0]: (e["properties"]["firstName"], e["properties"]["lastName"])
        for e in ents
        if e["schema"] == "Person"
    }
    assert names["STEWART, Matthew"] == (["Matthew"], ["STEWART"])
    assert names["DE LEON, Maria Magbanua"] == (["Maria Magbanua"], ["DE LEON"])


def test_a_handle_is_not_split_into_names(bundle: CaseBundle) -> None:
    txns = [dict(t, receiver_name=None) for t in bundle.transactions]
    ents = _valid(export_case("ftm", replace(bundle, transactions=txns)))
    (handle,) = [e for e in ents if e["properties"].get("name") == [HANDLE]]
    assert "firstName" not in handle["properties"] and "lastName" not in handle["properties"]


def test_customer_id_is_no_id_number(bundle: CaseBundle) -> None:
    """Defect 8: the customer id is the institution's own reference, not a national id;
    ``idNumber`` holds only the KYC id number."""
    people = [e for e in _valid(export_case("ftm", bundle)) if e["schema"] == "Person"]
    by_name = {p["properties"]["name"][0]: p["properties"] for p in people}
    assert by_name["John O'Brien"]["idNumber"] == ["PA1234567"]  # from KYC
    assert "idNumber" not in by_name["Jane Roe"]  # no KYC id number
    assert by_name["Jane Roe"]["notes"] == ["Customer C2 of Example Remittance Ltd."]
    assert not any("C1" in p["properties"].get("idNumber", []) for p in people)


def test_merchants_are_legal_entities_without_accounts(bundle: CaseBundle) -> None:
    """Defect 8: a card merchant is neither a person nor the holder of a bank account
    named after its merchant id."""
    shop = dict(bundle.transactions[1], txn_id="T3", receiver_id="mid:5734000001",
                receiver_name="Example VPN", receiver_country="US", channel="card",
                merchant_category="5734")  # fmt: skip
    ents = _valid(export_case("ftm", replace(bundle, transactions=[*bundle.transactions, shop])))
    (merchant,) = [e for e in ents if e["properties"].get("name") == ["Example VPN"]]
    assert merchant["schema"] == "LegalEntity"
    assert merchant["properties"]["sector"] == ["MCC 5734"]
    assert "mid:5734000001" in merchant["properties"]["summary"][0]
    (payment,) = [e for e in ents if e["properties"].get("transactionNumber") == ["T3"]]
    assert payment["properties"]["beneficiary"] == [merchant["id"]]
    assert "beneficiaryAccount" not in payment["properties"]
    accounts = [e for e in ents if e["schema"] in ("BankAccount", "CryptoWallet")]
    assert [a["properties"]["accountNumber"] for a in accounts] == [["+639171234567"]]
    assert not any(e["properties"].get("asset") == [merchant["id"]] for e in ents)


def test_media_only_case_exports_its_matches() -> None:
    """Defect 8: a media-only case was one Note. Now each matched sighting is a note on
    the account it was seen on; M2 and M3 matched nothing and are only counted."""
    b = make_bundle()
    b = replace(b, transactions=(), customers=(), reports=(), alerts=b.alerts[1:])
    ents = _valid(export_case("ftm", b))
    by_id = {e["id"]: e for e in ents}
    notes = {e["properties"]["name"][0]: e["properties"] for e in ents if e["schema"] == "Note"}
    match = notes["Known-material hash match M1"]
    (account,) = [by_id[i] for i in match["entity"]]
    assert account["schema"] == "UserAccount"
    assert account["properties"]["username"] == ["u123"]
    assert account["properties"]["service"] == ["chatapp"]
    (text,) = match["description"]
    assert text.startswith(f"Sighting M1: PDQ hash {'f' * 64} seen 2026-03-01T20:00:00Z")
    assert "list 'known-list' version 3 at distance 1, threshold 31" in text
    assert f"listed entry {'f' * 63}e" in text
    # unmatched hashes are no entity and the case note counts them as unmatched
    assert not any("M2" in n or "M3" in n for n in notes)
    raw = export_case("ftm", b).decode()
    assert "a" * 64 not in raw and "b" * 32 not in raw
    (case,) = [n for name, n in notes.items() if name != "Known-material hash match M1"]
    assert "1 hash sighting(s) matched lists of known material" in case["description"][0]
    assert "2 other hash sighting(s) on the case's accounts matched no list" in case["description"][0]  # fmt: skip
    (match_id,) = [e["id"] for e in ents if e["properties"].get("name") == ["Known-material hash match M1"]]  # fmt: skip
    assert set(case["entity"]) == {account["id"], match_id}


def test_crypto_channel_gives_a_wallet(bundle: CaseBundle) -> None:
    txns = [
        dict(t, channel="crypto", receiver_id="btc:bc1qexampleaddress") for t in bundle.transactions
    ]
    ents = _entities(export_case("ftm", replace(bundle, transactions=txns)))
    wallets = [e for e in ents if e["schema"] == "CryptoWallet"]
    assert len(wallets) == 1 and wallets[0]["properties"]["publicKey"] == ["bc1qexampleaddress"]


def test_ids_are_the_same_in_every_case(bundle: CaseBundle) -> None:
    other = replace(bundle, case=bundle.case.model_copy(update={"case_id": "CASE-OTHER"}))
    ids_a = {e["id"] for e in _entities(export_case("ftm", bundle)) if e["schema"] != "Note"}
    ids_b = {e["id"] for e in _entities(export_case("ftm", other)) if e["schema"] != "Note"}
    assert ids_a == ids_b


def test_validation_finds_each_kind_of_problem() -> None:
    lines = [
        {"id": "p1", "schema": "Payment", "properties": {"payer": ["missing"], "colour": ["red"]}},
        {"id": "a1", "schema": "UserAccount", "properties": {"username": ["x"], "owner": ["n1"]}},
        {"id": "n1", "schema": "Note", "properties": {}},
        {"id": "t1", "schema": "Thing", "properties": {"name": ["abstract"]}},
        {"id": "z1", "schema": "Spaceship", "properties": {}},
    ]
    data = ("\n".join(json.dumps(x) for x in lines) + "\nnot json\n").encode()
    messages = [str(p) for p in FtmExporter().validate(data)]
    expected = [
        "has no property 'colour'",
        "required property 'beneficiary' is missing",
        "payer refers to missing, which is not in the export",
        "owner refers to a Note, expected LegalEntity",
        "schema Thing is abstract",
        "unknown schema 'Spaceship'",
        "line 6: not JSON",
    ]
    for text in expected:
        assert any(text in m for m in messages), (text, messages)
