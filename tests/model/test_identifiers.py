from __future__ import annotations

import pytest

from daybreak.model.identifiers import Identifier, IdentifierError, IdentifierKind, normalize

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
