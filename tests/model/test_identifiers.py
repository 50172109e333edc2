from __future__ import annotations

import pytest

from daybreak.model.identifiers import (
    TYPES,
    Identifier,
    IdentifierError,
    IdentifierKind,
    identifier_type,
    normalize,
)
from daybreak.schema.columns import IDENTIFIER_KINDS
from daybreak.sharing import SHAREABLE

K = IdentifierKind


@pytest.mark.parametrize(
    ("kind", "raw", "region", "expected"),
    [
        (K.PHONE, "0917 123 4567", "PH", "+639171234567"),
        (K.PHONE, "+63 917-123-4567", None, "+639171234567"),
        (K.EMAIL, "  Maria.Santos@Example.COM ", None, "maria.santos@example.com"),
        (K.IP, " 203.0.113.007 ".replace("007", "7"), None, "203.0.113.7"),
        (K.IP, "2001:DB8::1", None, "2001:db8::1"),
        (K.URL, "HTTPS://WWW.Example.com:443/u/abc/#frag", None, "https://example.com/u/abc"),
        (K.URL, "example.com/u/abc/", None, "https://example.com/u/abc"),
        (K.USERNAME, "VidChat:Sunny_Girl", None, "vidchat:sunny_girl"),
        (K.ACCOUNT, "VidChat:U123", None, "vidchat:U123"),
        (K.BANK_ACCOUNT, "gb82 west 1234 5698 7654 32", None, "GB82WEST12345698765432"),
        (K.CRYPTO_WALLET, "0xAbC123", None, "0xabc123"),
    ],
)
def test_normalize(kind: K, raw: str, region: str | None, expected: str) -> None:
    assert normalize(kind, raw, region=region) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (K.PHONE, "12"),
        (K.EMAIL, "not-an-email"),
        (K.IP, "300.1.1.1"),
        (K.ACCOUNT, "  "),
        (K.ACCOUNT, "svc:"),
        (K.BANK_ACCOUNT, "GB00"),
    ],
)
def test_invalid_values_raise(kind: K, raw: str) -> None:
    with pytest.raises(IdentifierError):
        normalize(kind, raw)


def test_same_phone_from_two_sources_links() -> None:
    a = Identifier.of("phone", "0917 123 4567", region="PH")
    b = Identifier.of(K.PHONE, "+639171234567")
    assert a == b and a.key == "phone:+639171234567"


INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space (BOM)
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
]


@pytest.mark.parametrize("mark", INVISIBLE)
@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (K.USERNAME, "ExampleStream:night{}owl", "examplestream:nightowl"),
        (K.ACCOUNT, "examplestream:u-10{}01", "examplestream:u-1001"),
        (K.EMAIL, "maria{}@example.com", "maria@example.com"),
        (K.PAYMENT_HANDLE, "gcash:0917{}1234567", "gcash:09171234567"),
        (K.PHONE, "+63917{}1234567", "+639171234567"),
    ],
)
def test_invisible_characters_do_not_split_identifiers(
    kind: K, raw: str, expected: str, mark: str
) -> None:
    """Issue #18 item 9: night\\u200bowl was a different user from nightowl."""
    assert normalize(kind, raw.format(mark)) == expected


def test_nfkc_folds_compatibility_forms() -> None:
    assert normalize(K.USERNAME, "ｅｘａｍｐｌｅ:ＮｉｇｈｔＯｗｌ") == "example:nightowl"
    assert normalize(K.EMAIL, "ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "maria@example.com"
    assert normalize(K.ACCOUNT, "svc:ﬁle") == "svc:file"  # the ligature is two letters


def test_an_identifier_of_only_invisible_characters_is_empty() -> None:
    with pytest.raises(IdentifierError, match="only invisible"):
        normalize(K.ACCOUNT, "\u200b\u200d\u202e")


# --- the type object of each kind -----------------------------------------------------


def test_every_kind_has_one_type_object_in_kind_order() -> None:
    assert list(TYPES) == list(IdentifierKind)
    assert all(t.kind is k for k, t in TYPES.items())


def test_a_beneficiary_is_keyed_shared_and_searched_as_a_payment_handle() -> None:
    bene, handle = identifier_type("beneficiary"), identifier_type(K.PAYMENT_HANDLE)
    assert bene.canonical is handle and bene.node_kind == "payment_handle"
    assert bene.node_key(" GCash:0917 000 0001") == handle.node_key("gcash:09170000001")
    assert bene.node_key("GCash:1") == "payment_handle:gcash:1"
    # every other kind is its own node kind
    assert [t.kind for t in TYPES.values() if t.alias_of is not None] == [K.BENEFICIARY]
    assert identifier_type("customer").node_key(" C-1 ") == "customer:C-1"


def test_an_unknown_kind_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'fax'"):
        identifier_type("fax")


def test_the_types_say_which_kinds_are_record_ids_and_which_are_never_shared() -> None:
    assert {t.kind for t in TYPES.values() if t.record_id} == {K.CUSTOMER, K.BENEFICIARY}
    assert {t.kind for t in TYPES.values() if not t.shareable} == {K.CUSTOMER}
    assert tuple(k.value for k in K if k not in (K.CUSTOMER, K.BENEFICIARY)) == IDENTIFIER_KINDS
    assert frozenset(K) - {K.CUSTOMER} == SHAREABLE


def test_country_hints_come_from_phones_and_public_ips_only() -> None:
    assert identifier_type(K.PHONE).country_of("+639171234567") == "PH"
    assert identifier_type(K.PHONE).country_of("+61412345678") == "AU"
    assert identifier_type(K.IP).country_of("10.0.0.1") is None  # private: no country
    assert identifier_type(K.EMAIL).country_of("someone@example.ph") is None
    assert identifier_type(K.PAYMENT_HANDLE).country_of("gcash:+639171234567") is None


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ("0917 123 4567", {K.PHONE, K.EMAIL, K.BANK_ACCOUNT}),
        ("night.owl@example.com", {K.EMAIL, K.URL, K.BANK_ACCOUNT}),
        ("night_owl_77", {K.EMAIL, K.BANK_ACCOUNT}),
    ],
)
def test_free_text_queries_are_tried_as_the_kinds_they_may_be(query: str, kinds: set[K]) -> None:
    tried = {t.kind for t in TYPES.values() if t.free_text is not None and t.free_text(query)}
    assert tried == kinds


def test_the_kinds_that_say_who_a_person_is() -> None:
    # entity resolution compares these; an IP or URL is shared by many people
    said = {t.kind for t in TYPES.values() if t.identifies_person}
    assert said == {K.PHONE, K.EMAIL, K.ACCOUNT, K.USERNAME, K.DEVICE} | {
        K.CRYPTO_WALLET,
        K.BANK_ACCOUNT,
    }
