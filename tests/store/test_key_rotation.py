"""Rotating the field key and the audit key: afterwards every report, case, note,
history reason, tier override, label, identifier search and NCMEC submission reads the
same with the new key only; the old key opens nothing; a failure mid-way leaves the
store as it was and a re-run completes; tampering is still detected."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from store_samples import case, report
from test_subject_labels import _alert

from daybreak.model.cases import CaseStatus, Disposition, Tier, search_forms
from daybreak.store import Actor, Role, TiplineStore, rotation
from daybreak.store import cybertip as cybertip_ops
from daybreak.store.cases import CaseFilter
from daybreak.store.checkpoints import read as read_checkpoints
from daybreak.store.keys import KeyError_, Keyring, generate_key
from daybreak.store.tables import (
    alerted_identifiers,
    audit_log,
    cases,
    rate_buckets,
    report_identifiers,
    web_sessions,
)

PHONE = "+639171234567"
ANA = Actor("ana", Role.ANALYST)
SUE = Actor("sue", Role.SUPERVISOR)
ANA_A = Actor("ana-a", Role.ANALYST, org_id="bank-a")
PASSWORD = "correct horse battery staple"


def _keys(field: str, audit: str) -> Keyring:
    return Keyring.from_text(field, audit=audit)


def _populate(store: TiplineStore) -> None:
    """Two organisations, each with reports about one phone, a case with an alert, a
    note, a transition with a reason, a tier override, a label and an NCMEC step."""
    store.organisations.create("bank-a", "Bank A")
    store.accounts.create("ana", PASSWORD, Role.ANALYST)
    store.accounts.create("sue", PASSWORD, Role.SUPERVISOR)
    store.accounts.create("ana-a", PASSWORD, Role.ANALYST, org_id="bank-a")
    store.reports.mark_alerted([f"phone:{PHONE}"], "payments")
    store.reports.mark_alerted(["phone:+10000000000"], "media")  # no report carries it
    for actor, cid in ((ANA, "C-1"), (ANA_A, "C-A")):
        store.reports.add(report(f"u-{cid}", phone=PHONE), actor)
        store.reports.add(report(f"v-{cid}"), actor)
        alerts = [_alert("customer", f"PAYER-{cid}")]
        rid = store.reports.search("phone", PHONE, actor).report_ids[0]
        store.cases.upsert(
            [case(cid, alerts=alerts, alert_ids=[a.alert_id for a in alerts], report_ids=[rid])],
            actor,
        )
        store.cases.add_note(cid, actor, f"note on {cid}")
        store.cases.override_tier(cid, Tier.LIVE_OR_IMMEDIATE_RISK, actor, f"override of {cid}")
        store.cases.record_disposition(
            cid, ("customer", f"PAYER-{cid}"), Disposition.PAYER_CONFIRMED, actor
        )
        store.cybertip.record_step(
            cid, "examplestream", cybertip_ops.SubmissionStep.OPENED, actor,
            ncmec_report_id=42, response=f"<response of {cid}/>",
        )  # fmt: skip
    store.cases.transition("C-1", CaseStatus.ASSIGNED, SUE, "take it", assignee="ana")
    store.web_sessions.start(
        "ana", Role.ANALYST, 0, {"csrf": "x"}, time.time(), idle=60, absolute=600
    )
    store.throttles.limiter("login-address", shared=True).allow("10.0.0.1", 60)  # a bucket


def _observed(store: TiplineStore) -> dict[str, Any]:
    """Everything the analysts of both organisations can read."""
    out: dict[str, Any] = {}
    for actor, cid in ((ANA, "C-1"), (ANA_A, "C-A")):
        hit = store.reports.search("phone", PHONE, actor)
        found = store.cases.get(cid, actor)
        assert found is not None
        sub = store.cybertip.submission(cid, "examplestream", actor)
        assert sub is not None
        out[actor.org_id] = {
            "search": (hit.report_ids, hit.case_ids),
            "reports": [store.reports.get(r, actor) for r in hit.report_ids],
            "queue": [(c.cluster_id, c.report_ids) for c in store.reports.queue(actor)],
            "case": found.model_dump_json(),
            "console_search": [
                c.case_id
                for c in store.cases.query(actor, CaseFilter(search=frozenset(search_forms(cid))))
            ],
            "notes": [n.text for n in store.cases.notes(cid, actor)],
            "history": [h.reason for h in store.cases.history(actor, cid)],
            "overrides": [o.reason for o in store.cases.tier_overrides(cid, actor)],
            "labels": [(x.subject_id, x.label) for x in store.cases.labels(actor)],
            "ncmec": (sub.step, sub.ncmec_report_id, sub.response),
        }
    return out


def _count(store: TiplineStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_the_field_key_rotates_and_the_old_one_opens_nothing(db_url: str) -> None:
    field, audit, new_field = generate_key(), generate_key(), generate_key()
    old_keys, new_keys = _keys(field, audit), _keys(new_field, audit)
    with TiplineStore(db_url, old_keys) as store:
        _populate(store)
        before = _observed(store)
        assert _count(store, web_sessions) == 1
        counts = store.rotate_field_key(new_keys)
    assert counts["reports"] == 4 and counts["cases"] == 2
    assert counts["alerted_identifiers"] == 1 and counts["alerted_identifiers_dropped"] == 1
    assert counts["cybertip_submissions"] == 2 and counts["web_sessions_ended"] == 1

    with pytest.raises(KeyError_, match="field key was rotated"):
        TiplineStore(db_url, old_keys)
    with TiplineStore(db_url, new_keys) as store:
        assert _observed(store) == before
        assert _count(store, web_sessions) == 0 and _count(store, rate_buckets) == 0
        # the alert kept under the new index still ranks a report about the phone
        with store.engine.connect() as conn:
            alerted = set(conn.execute(select(alerted_identifiers.c.value_index)).scalars())
        assert alerted == {new_keys.index(f"phone:{PHONE}")}
        result = store.audit.verify()
        assert result.ok, result.problems
        entry = [
            e
            for e in store.audit.trail(Actor("root", Role.ADMIN), None)
            if e.action == rotation.FIELD_ACTION
        ]
        assert len(entry) == 1 and entry[0].detail["reports"] == 4
        assert all(isinstance(v, int) for v in entry[0].detail.values())  # counts only
        # no ciphertext opens with the old key, no blind index is the old one
        with store.engine.connect() as conn:
            rows = list(conn.execute(select(report_identifiers)))
        for r in rows:
            own = old_keys.for_org(r.org_id)
            with pytest.raises(KeyError_):
                own.decrypt(
                    r.value_enc, f"report_identifiers.value_enc:{r.report_id}:{r.value_index}"
                )
        assert old_keys.index(f"phone:{PHONE}") not in {r.value_index for r in rows}
        # tampering after the rotation is still detected
        with store.engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.case_id == "C-1").values(status="closed"))
        broken = store.audit.verify()
        assert not broken.ok and broken.bad_rows == 1


def test_a_failure_mid_rotation_leaves_the_store_as_it_was_and_a_rerun_completes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    field, audit, new_field = generate_key(), generate_key(), generate_key()
    old_keys, new_keys = _keys(field, audit), _keys(new_field, audit)
    with TiplineStore(db_url, old_keys) as store:
        _populate(store)
        before = _observed(store)
        entries = _count(store, audit_log)
        calls = {"n": 0}
        real = rotation._opened

        def crash_on_the_fifth(keys: Keyring, blob: bytes, context: str) -> bytes:
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("power cut")
            return real(keys, blob, context)

        monkeypatch.setattr(rotation, "_opened", crash_on_the_fifth)
        with pytest.raises(RuntimeError, match="power cut"):
            store.rotate_field_key(new_keys)
        monkeypatch.setattr(rotation, "_opened", real)
        assert _observed(store) == before  # still the old key's store, whole
        assert store.audit.verify().ok
        assert _count(store, audit_log) > entries  # the reads above, nothing of the rotation
        store.rotate_field_key(new_keys)  # the re-run completes
    with TiplineStore(db_url, new_keys) as store:
        assert _observed(store) == before
        assert store.audit.verify().ok


def test_a_rotation_refuses_to_start_from_a_tampered_store_or_with_a_wrong_key(
    db_url: str,
) -> None:
    field, audit = generate_key(), generate_key()
    old_keys = _keys(field, audit)
    with TiplineStore(db_url, old_keys) as store:
        _populate(store)
        with pytest.raises(rotation.RotationRefused, match="one at a time"):
            store.rotate_field_key(_keys(generate_key(), generate_key()))
        with pytest.raises(rotation.RotationRefused, match="is the current one"):
            store.rotate_field_key(_keys(field, audit))
        with store.engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.case_id == "C-1").values(assignee="eve"))
        with pytest.raises(rotation.RotationRefused, match="does not verify"):
            store.rotate_field_key(_keys(generate_key(), audit))
    # a store opened with a wrong field key: the sample does not decrypt
    with TiplineStore(db_url, _keys(generate_key(), audit)) as wrong:
        with wrong.engine.begin() as conn:  # undo the tampering to reach the sample check
            conn.execute(update(cases).where(cases.c.case_id == "C-1").values(assignee="ana"))
        with pytest.raises(rotation.RotationRefused, match="does not decrypt"):
            wrong.rotate_field_key(_keys(generate_key(), audit))


def test_the_audit_key_rotates_with_a_hand_over_checkpoint(db_url: str, tmp_path: Path) -> None:
    field, audit, new_audit = generate_key(), generate_key(), generate_key()
    old_keys, new_keys = _keys(field, audit), _keys(field, new_audit)
    points = tmp_path / "checkpoints"
    with TiplineStore(db_url, old_keys, checkpoints=points, checkpoint_every=0) as store:
        _populate(store)
        before = _observed(store)
        store.audit.checkpoint()
        done = store.rotate_audit_key(new_keys)
    kept = Path(done["checkpoints_kept"])
    assert kept.exists() and points.exists()
    (handover,), _ = read_checkpoints(points)
    assert handover.seq == done["seq"] == done["verified_until"] + 1
    assert handover.mac == new_keys.checkpoint_mac(handover.body)

    with TiplineStore(db_url, new_keys, checkpoints=points, checkpoint_every=0) as store:
        assert _observed(store) == before
        result = store.audit.verify()
        assert result.ok and result.checkpoints >= 1, result.problems
        # the checkpoints of before: forged to the new key alone, verified with the old
        assert not store.audit.verify(kept).ok
        with_old = store.audit.verify(kept, previous=new_keys.with_audit_key(_raw(audit)))
        assert with_old.ok, with_old.problems
        # a wrong previous key does not verify them
        assert not store.audit.verify(kept, previous=_keys(field, generate_key())).ok
        # the old audit key no longer verifies the chain or the rows
    with TiplineStore(db_url, old_keys, checkpoints=tmp_path / "x", checkpoint_every=0) as store:
        stale = store.audit.verify()
        assert not stale.ok and stale.bad_rows > 0
    # an entry edited before the rotation is still detected, by either check
    with TiplineStore(db_url, new_keys, checkpoints=points, checkpoint_every=0) as store:
        with store.engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="eve"))
        assert not store.audit.verify().ok
        assert not store.audit.verify(kept, previous=new_keys.with_audit_key(_raw(audit))).ok


def _raw(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text)


def test_the_rotation_commands_take_keys_from_the_environment_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from daybreak.cli.main import app

    runner = CliRunner()
    field, audit, new_field, new_audit = (generate_key() for _ in range(4))

    def run(*args: str, **env: str) -> tuple[int, str]:
        given = {"DAYBREAK_FIELD_KEY": field, "DAYBREAK_AUDIT_KEY": audit, **env}
        got = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], env=given)
        return got.exit_code, got.output

    with _opened_with(tmp_path, field, audit) as store:
        store.reports.add(report("u-1", phone=PHONE), ANA)
    code, out = run("admin", "rotate-field-key")
    assert code == 2 and "DAYBREAK_NEW_FIELD_KEY" in out
    code, out = run("admin", "rotate-field-key", DAYBREAK_NEW_FIELD_KEY=new_field)
    assert code == 0 and "field key rotated: reports 1" in out
    assert new_field not in out and field not in out
    code, out = run("audit", "verify")  # the old field key
    assert code == 2 and "field key was rotated" in out
    code, out = run("audit", "verify", DAYBREAK_FIELD_KEY=new_field)
    assert code == 0 and "audit chain intact" in out

    keyfile = tmp_path / "new-audit.key"
    keyfile.write_text(new_audit)
    code, out = run(
        "admin",
        "rotate-audit-key",
        DAYBREAK_FIELD_KEY=new_field,
        DAYBREAK_NEW_AUDIT_KEY_FILE=str(keyfile),
    )
    assert code == 0 and "hand-over at entry" in out, out
    kept = next(tmp_path.glob("*.before-*"))
    code, out = run("audit", "verify", DAYBREAK_FIELD_KEY=new_field, DAYBREAK_AUDIT_KEY=new_audit)
    assert code == 0, out
    args = ("audit", "verify", "--checkpoints", str(kept))
    code, out = run(*args, DAYBREAK_FIELD_KEY=new_field, DAYBREAK_AUDIT_KEY=new_audit)
    assert code == 1 and "MAC does not match" in out
    code, out = run(
        *args,
        DAYBREAK_FIELD_KEY=new_field,
        DAYBREAK_AUDIT_KEY=new_audit,
        DAYBREAK_PREVIOUS_AUDIT_KEY=audit,
    )
    assert code == 0 and "audit chain intact" in out, out


def _opened_with(data_dir: Path, field: str, audit: str) -> TiplineStore:
    from daybreak.store.db import sqlite_url
    from daybreak.store.store import DB_FILE

    return TiplineStore(sqlite_url(data_dir / DB_FILE), _keys(field, audit))


def test_a_failure_mid_audit_rotation_changes_nothing_and_a_rerun_completes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    field, audit, new_audit = generate_key(), generate_key(), generate_key()
    old_keys, new_keys = _keys(field, audit), _keys(field, new_audit)
    points = tmp_path / "checkpoints"
    with TiplineStore(db_url, old_keys, checkpoints=points, checkpoint_every=0) as store:
        _populate(store)
    lines_before = points.read_text()
    real = rotation.canonical_of
    calls = {"n": 0}

    def crash_on_the_tenth(r: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("power cut")
        return real(r)

    monkeypatch.setattr(rotation, "canonical_of", crash_on_the_tenth)
    with (
        TiplineStore(db_url, old_keys, checkpoints=points, checkpoint_every=0) as store,
        pytest.raises(RuntimeError, match="power cut"),
    ):
        store.rotate_audit_key(new_keys)
    monkeypatch.setattr(rotation, "canonical_of", real)
    assert points.read_text().startswith(lines_before)  # not set aside, only appended to
    with TiplineStore(db_url, old_keys, checkpoints=points, checkpoint_every=0) as store:
        result = store.audit.verify()
        assert result.ok, result.problems  # still wholly the old key's
        store.rotate_audit_key(new_keys)  # the re-run completes
    with TiplineStore(db_url, new_keys, checkpoints=points, checkpoint_every=0) as store:
        result = store.audit.verify()
        assert result.ok, result.problems


def test_every_encrypted_column_is_rotated() -> None:
    """A table added later with an ``*_enc`` column must be re-sealed by the rotation
    (``integrity.SEALED``) or handled by it on purpose; otherwise a rotated store could
    no longer open that column."""
    from daybreak.store.integrity import SEALED
    from daybreak.store.tables import metadata

    handled_apart = {
        "cybertip_submissions.response_enc",  # re-sealed with its new service index
        "web_sessions.state_enc",  # every console session ends at a rotation
    }
    encrypted = {
        f"{t.name}.{c.name}"
        for t in metadata.sorted_tables
        for c in t.columns
        if c.name.endswith("_enc")
    }
    assert encrypted - {s.name for s in SEALED} - handled_apart == set()
