"""FollowTheMoney entities valid in the followthemoney model."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from followthemoney import model

from daybreak.exporters import export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.ftm import FtmExporter


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
    assert payer["properties"]["email"] == ["john@example.com"]
    assert beneficiary["properties"]["name"] == ["María de la Cruz"]
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
