"""Small helpers the XML exporters share: building elements and folding text."""

from __future__ import annotations

import unicodedata
from typing import Any

import phonenumbers
from lxml import etree


def sub(parent: Any, tag: str, value: object | None = None) -> Any:
    """Append ``<tag>value</tag>`` to ``parent`` and return it."""
    el = etree.SubElement(parent, tag)
    if value is not None:
        el.text = str(value)
    return el


def to_bytes(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def ascii_fold(value: str) -> str:
    """Printable ASCII only: accents transliterated (NFKD), anything else dropped."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded if ch in "\t\n\r" or " " <= ch <= "~")


def split_phone(e164: str) -> tuple[str, str] | None:
    """(country calling code, national number) of an E.164 phone, or None."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return str(parsed.country_code), str(parsed.national_number)
