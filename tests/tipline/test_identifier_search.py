"""Reports found by an identifier however it was typed (issue #18 item 9): invisible
characters and compatibility forms do not split one user into two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tipline_samples import body

from daybreak.store import Actor, Keyring, Role, Submission, TiplineStore
from daybreak.store.keys import generate_key
from daybreak.tipline.intake import ReportIn

ANALYST = Actor("ana", Role.ANALYST)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TiplineStore]:
    s = TiplineStore(
        f"sqlite+pysqlite:///{tmp_path / 'store.db'}", Keyring.from_text(generate_key())
    )
    yield s
    s.close()


def _submit(store: TiplineStore, **account: object) -> str:
    data = body(reported_accounts=[{"service": "ExampleStream", **account}])
    report = ReportIn.model_validate(data)
    return store.reports.add_many([Submission(report, "key:test", "api")])[0].report_id


def test_a_username_with_a_zero_width_space_is_found_by_the_plain_name(
    store: TiplineStore,
) -> None:
    rid = _submit(store, username="night\u200bowl")
    assert store.reports.search("username", "examplestream:nightowl", ANALYST).report_ids == (rid,)
    assert store.reports.search("username", "ExampleStream:Night\u2060Owl", ANALYST).report_ids == (
        rid,
    )


@pytest.mark.parametrize(
    ("account", "kind", "query"),
    [
        ({"account_id": "u\u200d1001"}, "account", "examplestream:u1001"),
        (
            {"account_id": "u1001", "emails": ["maria\u202e@example.com"]},
            "email",
            "maria@example.com",
        ),
        (
            {"account_id": "u1001", "emails": ["ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｃｏｍ"]},
            "email",
            "maria@example.com",
        ),
        ({"username": "ｎｉｇｈｔｏｗｌ"}, "username", "examplestream:nightowl"),
    ],
)
def test_accounts_and_emails_are_matched_after_normalisation(
    store: TiplineStore, account: dict[str, object], kind: str, query: str
) -> None:
    rid = _submit(store, **account)
    assert store.reports.search(kind, query, ANALYST).report_ids == (rid,)
