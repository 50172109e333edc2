"""``store.web_sessions``: the console's sessions in the database (SQLite, PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from daybreak.store import Role, TiplineStore
from daybreak.store.repositories.web_sessions import TOUCH_SECONDS
from daybreak.store.tables import web_sessions

IDLE, ABSOLUTE = 600.0, 3600.0


def _seen(store: TiplineStore) -> float:
    with store.engine.connect() as conn:
        return float(conn.execute(select(web_sessions.c.seen)).scalar_one())


def test_a_session_keeps_its_state_encrypted_and_expires(store: TiplineStore) -> None:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    state = {"csrf": "c", "flashes": [["ok", "Saved."]], "query": "+15550009999"}
    token = store.web_sessions.start(
        "ana", Role.ANALYST, 3, state, 1000.0, idle=IDLE, absolute=ABSOLUTE
    )
    got = store.web_sessions.get(token, 1010.0, idle=IDLE, absolute=ABSOLUTE)
    assert got is not None
    assert (got.username, got.role, got.epoch, got.org_id) == ("ana", Role.ANALYST, 3, "default")
    assert got.state == state
    with store.engine.connect() as conn:
        blob = conn.execute(select(web_sessions.c.state_enc)).scalar_one()
    assert b"15550009999" not in blob
    assert _seen(store) == 1000.0  # not written back for every page
    store.web_sessions.get(token, 1000.0 + TOUCH_SECONDS + 1, idle=IDLE, absolute=ABSOLUTE)
    assert _seen(store) == 1000.0 + TOUCH_SECONDS + 1

    store.web_sessions.save(token, {**state, "flashes": []})
    again = store.web_sessions.get(token, 1100.0, idle=IDLE, absolute=ABSOLUTE)
    assert again is not None and again.state["flashes"] == []

    late = 1000.0 + TOUCH_SECONDS + 1 + IDLE + 1
    assert store.web_sessions.get(token, late, idle=IDLE, absolute=ABSOLUTE) is None
    with store.engine.connect() as conn:
        assert conn.execute(select(web_sessions)).all() == []  # an expired one is deleted


def test_sessions_end_at_their_absolute_age_and_with_the_account(store: TiplineStore) -> None:
    store.accounts.create("sam", "a long supervisor password", Role.SUPERVISOR)
    now = 0.0
    token = store.web_sessions.start(
        "sam", Role.SUPERVISOR, 0, {}, now, idle=IDLE, absolute=ABSOLUTE
    )
    while now < ABSOLUTE:  # kept busy: never idle, still ends
        assert store.web_sessions.get(token, now, idle=IDLE, absolute=ABSOLUTE) is not None
        now += IDLE / 2
    assert store.web_sessions.get(token, ABSOLUTE + 1, idle=IDLE, absolute=ABSOLUTE) is None

    kept = store.web_sessions.start(
        "sam", Role.SUPERVISOR, 0, {}, 0.0, idle=IDLE, absolute=ABSOLUTE
    )
    store.accounts.set_role("sam", Role.ANALYST)  # a new role: sessions end
    assert store.web_sessions.get(kept, 1.0, idle=IDLE, absolute=ABSOLUTE) is None
    ended = store.web_sessions.start("sam", Role.ANALYST, 1, {}, 2.0, idle=IDLE, absolute=ABSOLUTE)
    store.web_sessions.end(ended)
    assert store.web_sessions.get(ended, 3.0, idle=IDLE, absolute=ABSOLUTE) is None
