"""Hash banks (the media module's BankStore) and the typology pack, through the console."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer, csrf_of
from daybreak.console.backend import ConsoleUser, DeliveryFailure, Role
from daybreak.console.manage import Manage
from daybreak.media.banks import BankEntry, BankStore
from daybreak.payments.config import default_pack_text, load_pack
from daybreak.testing.console import MemoryBackend

SHA = [hashlib.sha256(f"benign fixture {i}".encode()).hexdigest() for i in range(3)]
ADMIN = ConsoleUser("root", Role.ADMIN)


@pytest.fixture
def banks(tmp_path: Path, live_server: LiveServer, backend: MemoryBackend) -> Iterator[BankStore]:
    store = BankStore(tmp_path / "banks")
    store.create("partner-list", source="test partner", description="benign test hashes")
    store.add("partner-list", [BankEntry("sha256", h, ("test",)) for h in SHA[:2]])
    live_server.console.manage = Manage(banks=store, rules_path=tmp_path / "typologies.yaml")
    yield store
    live_server.console.manage = Manage()


def submit(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    token = csrf_of(client.get("/console/banks").text)
    return client.post(path, data={"csrf_token": token, **fields})


def test_banks_page_lists_banks_and_hashes_only(
    client_for: Callable[[str], httpx.Client], banks: BankStore
) -> None:
    page = client_for("ana").get("/console/banks").text
    assert "partner-list" in page and "test partner" in page
    for h in SHA[:2]:
        assert h in page
    assert "<img" not in page and "<video" not in page
    assert "Add hash" not in page  # analysts look; supervisors change


def test_supervisor_adds_and_removes_a_hash(
    client_for: Callable[[str], httpx.Client], banks: BankStore, backend: MemoryBackend
) -> None:
    sam = client_for("sam")
    response = submit(
        sam, "/console/banks/add", bank="partner-list", hash_type="sha256", value=SHA[2].upper()
    )
    assert response.status_code == 303
    assert "Hash added to partner-list." in sam.get(response.headers["location"]).text
    assert SHA[2] in banks.entries("partner-list")["hash"].to_list()  # normalised to lower case
    response = submit(
        sam, "/console/banks/remove", bank="partner-list", hash_type="sha256", value=SHA[0]
    )
    assert "Hash removed" in sam.get(response.headers["location"]).text
    assert sorted(banks.entries("partner-list")["hash"].to_list()) == sorted(SHA[1:])
    trail = [(a.actor, a.action) for a in backend.audit_trail("partner-list", ADMIN)]
    assert trail == [("sam", "bank.add"), ("sam", "bank.remove")]


def test_a_malformed_hash_is_refused_with_the_reason(
    client_for: Callable[[str], httpx.Client], banks: BankStore
) -> None:
    sam = client_for("sam")
    response = submit(sam, "/console/banks/add", bank="partner-list", hash_type="md5", value="xyz")
    page = sam.get(response.headers["location"]).text
    assert "is not 32 hexadecimal characters" in page
    assert banks.get("partner-list").count == 2


def test_disabling_a_bank(client_for: Callable[[str], httpx.Client], banks: BankStore) -> None:
    sam = client_for("sam")
    submit(sam, "/console/banks/toggle", bank="partner-list", enabled="false")
    assert banks.get("partner-list").enabled is False


def test_analysts_cannot_change_banks(
    client_for: Callable[[str], httpx.Client], banks: BankStore
) -> None:
    ana = client_for("ana")
    response = submit(
        ana, "/console/banks/add", bank="partner-list", hash_type="sha256", value=SHA[2]
    )
    assert response.status_code == 403
    assert banks.get("partner-list").count == 2


def test_rules_page_shows_the_typologies(
    client_for: Callable[[str], httpx.Client], banks: BankStore
) -> None:
    page = client_for("ana").get("/console/banks").text
    pack = load_pack()
    for typology in pack.typologies:
        assert typology.id in page
    assert "rules-text" not in page  # the editor is for supervisors


def test_an_invalid_pack_is_not_saved_and_every_problem_is_listed(
    client_for: Callable[[str], httpx.Client], banks: BankStore, live_server: LiveServer
) -> None:
    path = live_server.console.manage.rules_path
    assert path is not None
    bad = default_pack_text().replace("alert_threshold:", "alert_treshold:", 1)
    bad = bad.replace("corridor_countries: [PH,", "corridor_countries: [XX,", 1)
    response = submit(client_for("sam"), "/console/rules", text=bad)
    assert response.status_code == 400
    assert "problem" in response.text and "alert_treshold" in response.text
    assert "XX" in response.text
    assert not path.exists()


def test_a_valid_pack_is_saved_and_audited(
    client_for: Callable[[str], httpx.Client],
    banks: BankStore,
    live_server: LiveServer,
    backend: MemoryBackend,
) -> None:
    path = live_server.console.manage.rules_path
    assert path is not None
    text, changed = re.subn(
        r"^alert_threshold: .*$", "alert_threshold: 0.37", default_pack_text(), count=1, flags=re.M
    )
    assert changed == 1
    response = submit(client_for("sam"), "/console/rules", text=text)
    assert response.status_code == 303
    assert load_pack(path).alert_threshold == 0.37
    pack = load_pack(path)
    assert [(a.actor, a.action) for a in backend.audit_trail(pack.pack, ADMIN)] == [
        ("sam", "rules.save")
    ]


@pytest.mark.parametrize(
    ("path", "fields", "field"),
    [
        ("/console/banks/toggle", {"bank": "b" * 65, "enabled": "false"}, "bank"),
        ("/console/banks/toggle", {"bank": "partner-list", "enabled": "x" * 6}, "enabled"),
        ("/console/banks/remove", {"bank": "b" * 5000, "hash_type": "sha256"}, "bank"),
        ("/console/banks/remove", {"bank": "partner-list", "hash_type": "t" * 21}, "hash_type"),
        ("/console/banks/remove", {"bank": "partner-list", "value": "0" * 201}, "value"),
        ("/console/banks/add", {"bank": "b" * 65, "value": SHA[2]}, "bank"),
        (
            "/console/banks/add",
            {"bank": "partner-list", "value": SHA[2], "labels": "l" * 201},
            "labels",
        ),
    ],
)
def test_an_over_long_bank_field_is_refused_with_400_naming_it(
    client_for: Callable[[str], httpx.Client],
    banks: BankStore,
    path: str,
    fields: dict[str, str],
    field: str,
) -> None:
    """Issue #18 item 7: these answered 500 and dropped the connection."""
    sam = client_for("sam")
    response = submit(sam, path, **fields)
    assert response.status_code == 400, response.text
    assert "Field too long" in response.text and f"&#39;{field}&#39;" in response.text
    assert banks.get("partner-list").count == 2 and banks.get("partner-list").enabled
    assert sam.get("/console/banks").status_code == 200  # the session and server carry on


def test_failed_deliveries_are_listed_for_managers_without_their_bodies(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    backend.delivery_failed = [
        DeliveryFailure(
            7, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "audit-42", "case.transition",
            "https://receiver.example/hook", 6, "HTTP 503",
        )
    ]  # fmt: skip
    sam = client_for("sam").get("/console/deliveries")
    assert sam.status_code == 200
    for shown in ("audit-42", "case.transition", "https://receiver.example/hook", "HTTP 503"):
        assert shown in sam.text
    assert "stream redeliver" in sam.text  # how to send them again
    assert 'href="/console/deliveries"' in sam.text  # in a manager's navigation
    ana = client_for("ana")
    assert ana.get("/console/deliveries").status_code == 403
    assert 'href="/console/deliveries"' not in ana.get("/console/queue").text
