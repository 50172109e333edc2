"""The payments docs stay honest: every typology, feature and exit code is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.payments.config import load_pack
from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES

DOC = Path(__file__).resolve().parents[2] / "docs" / "detectors" / "payments.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_typology_is_documented_with_its_source(doc: str) -> None:
    for t in load_pack().typologies:
        row = next((line for line in doc.splitlines() if f"| `{t.id}` |" in line), None)
        assert row is not None, f"typology {t.id} missing from {DOC.name}"
        assert t.source in row, f"source of {t.id} missing"


def test_every_feature_is_documented(doc: str) -> None:
    for name in {**CUSTOMER_FEATURES, **BENEFICIARY_FEATURES}:
        assert f"`{name}`" in doc, f"feature {name} missing from {DOC.name}"
