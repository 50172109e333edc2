"""Keyed-hash sharing: two institutions learn only what they have in common."""

from __future__ import annotations

import json
import secrets

import pytest

from daybreak.sharing import ShareError, export_lines, keyed_hash, match, parse_lines, secret_id

SECRET = secrets.token_bytes(32)
BANK_A = [
    ("phone", "+63 917 123 4567"),
    ("email", "Someone@Example.org"),
    ("payment_handle", "gcash:+639171234567"),
    ("phone", "+1 202 555 0100"),
]
BANK_B = [
    ("phone", "+639171234567"),  # same phone, other spelling
    ("beneficiary", "GCash:+639171234567"),  # a receiver id is a payment handle
    ("email", "other@example.org"),
]


def test_only_common_identifiers_are_learned() -> None:
    lines, problems = export_lines(SECRET, "ph-banks", BANK_B)
    assert problems == []
    common, skipped = match(SECRET, BANK_A, parse_lines(lines))
    assert common == [("payment_handle", "gcash:+639171234567"), ("phone", "+639171234567")]
    assert skipped == []


def test_match_returns_the_values_it_could_not_compare() -> None:
    lines, _ = export_lines(SECRET, "g", [("phone", "+61412345678")])
    mine = [("phone", "0412 345 678"), ("email", "not-an-email")]
    common, skipped = match(SECRET, mine, parse_lines(lines))
    assert common == [] and len(skipped) == 2
    assert "0412 345 678" in skipped[0] and "not-an-email" in skipped[1]
    common, skipped = match(SECRET, mine, parse_lines(lines), region="AU")
    assert common == [("phone", "+61412345678")] and len(skipped) == 1


def test_export_reveals_no_values() -> None:
    lines, _ = export_lines(SECRET, "g", BANK_A)
    text = "\n".join(lines)
    for needle in ("+63", "someone", "example", "gcash", "+1"):  # none can occur in hex
        assert needle not in text.lower()
    header = json.loads(lines[0])
    assert header["count"] == 4 and header["key_id"] == secret_id(SECRET)
    hashes = [json.loads(x)["hash"] for x in lines[1:]]
    assert hashes == sorted(hashes)


def test_hash_depends_on_secret_and_kind() -> None:
    other = secrets.token_bytes(32)
    assert keyed_hash(SECRET, "phone", "+639171234567") != keyed_hash(
        other, "phone", "+639171234567"
    )
    assert keyed_hash(SECRET, "account", "x:1") != keyed_hash(SECRET, "username", "x:1")
    assert keyed_hash(SECRET, "phone", "+63 917 123 4567") == keyed_hash(
        SECRET, "phone", "+639171234567"
    )


def test_files_from_another_group_are_refused() -> None:
    lines, _ = export_lines(secrets.token_bytes(32), "g", BANK_B)
    with pytest.raises(ShareError, match="different group secret"):
        match(SECRET, BANK_A, parse_lines(lines))


def test_bad_input_is_named() -> None:
    with pytest.raises(ShareError, match="at least 32 bytes"):
        keyed_hash(b"short", "phone", "+639171234567")
    with pytest.raises(ShareError, match="never shared"):
        keyed_hash(SECRET, "customer", "C1")
    _, problems = export_lines(SECRET, "g", [("phone", "not a phone")])
    assert len(problems) == 1 and "not a phone" in problems[0]
    with pytest.raises(ShareError, match="line 1"):
        parse_lines(["{}"], "x.jsonl")
    lines, _ = export_lines(SECRET, "g", BANK_B)
    with pytest.raises(ShareError, match="line 2"):
        parse_lines([lines[0], '{"kind": "phone", "hash": "zz"}', *lines[2:]], "x.jsonl")
    with pytest.raises(ShareError, match="header says"):
        parse_lines(lines[:-1], "x.jsonl")
