"""Private set intersection: exactly the overlap, nothing a member can test offline."""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from daybreak.sharing import ShareError, export_lines, keyed_hash, parse_lines, prepare
from daybreak.sharing.psi import (
    Mode,
    blind,
    finish,
    parse_request,
    parse_response,
    parse_state,
    point_of,
    respond,
    start,
)
from daybreak.sharing.psilog import Limits, Refused, check, read_log, record

P = 2**255 - 19


def _on_curve(u: bytes) -> bool:
    """Whether u is the x-coordinate of a point of Curve25519 (else of its twist)."""
    x = int.from_bytes(u, "little") % P
    rhs = (x**3 + 486662 * x**2 + x) % P
    return rhs == 0 or pow(rhs, (P - 1) // 2, P) == 1


def _phones(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return sorted({("phone", f"+614{rng.randrange(10**8):08d}") for _ in range(n)})


def test_x25519_blinding_commutes_on_curve_and_twist() -> None:
    a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    points = [point_of("phone", f"+6141234{i:04d}") for i in range(300)]
    on_curve = [_on_curve(u) for u in points]
    assert 0 < sum(on_curve) < len(points)  # both the curve and its twist are exercised
    for u in points:
        assert blind(a, blind(b, u)) == blind(b, blind(a, u))
    # Kind separates domains: the same text as another kind is another point.
    assert point_of("account", "x:1") != point_of("username", "x:1")


def test_psi_finds_exactly_the_overlap() -> None:
    shared = _phones(120, 1)
    mine = prepare([*shared, *_phones(180, 2), ("email", "Someone@Example.org")])
    theirs = prepare([*shared, *_phones(280, 3), ("email", "someone@example.org")])
    expected = set(mine.identifiers) & set(theirs.identifiers)
    assert len(expected) >= 121
    request, state = start(mine.identifiers, "bank-a", Mode.INTERSECTION)
    response = respond(request, theirs.identifiers, "bank-b")
    result = finish(state, response)
    assert result.mode is Mode.INTERSECTION and result.common is not None
    assert set(result.common) == expected and result.size == len(expected)
    assert (result.mine, result.theirs) == (len(mine.identifiers), len(theirs.identifiers))
    assert result.responder == "bank-b"


def test_size_only_reveals_only_the_count() -> None:
    shared = _phones(40, 4)
    mine, theirs = [*shared, *_phones(60, 5)], [*shared, *_phones(90, 6)]
    expected = len(set(mine) & set(theirs))
    request, state = start(mine, "bank-a", Mode.SIZE)
    assert state.identifiers == ()  # the requester keeps nothing to map replies back with
    response = respond(request, theirs, "bank-b")
    assert list(response.replies) == sorted(response.replies)  # request order is gone
    result = finish(state, response)
    assert (result.mode, result.size, result.common) == (Mode.SIZE, expected, None)
    # A responder can answer a request for the intersection with its size only.
    request, state = start(mine, "bank-a", Mode.INTERSECTION)
    response = respond(request, theirs, "bank-b", size_only=True)
    assert response.mode is Mode.SIZE and list(response.replies) == sorted(response.replies)
    result = finish(state, response)
    assert (result.mode, result.size, result.common) == (Mode.SIZE, expected, None)


def test_sessions_cannot_be_linked_or_mixed() -> None:
    mine, theirs = _phones(50, 7), _phones(50, 7)[:20]
    r1, s1 = start(mine, "a", Mode.INTERSECTION)
    r2, s2 = start(mine, "a", Mode.INTERSECTION)
    assert r1.session != r2.session and not set(r1.values) & set(r2.values)
    resp1 = respond(r1, theirs, "b")
    with pytest.raises(ShareError, match="values of different sessions never match"):
        finish(s2, resp1, "resp1.psi")
    # Even with the header forged to the other session, the values match nothing.
    forged = replace(resp1, session=s2.session, request_digest=s2.request_digest)
    assert finish(s2, forged).size == 0
    assert finish(s1, resp1).size == 20


def test_dictionary_attack_recovers_values_from_hmac_but_nothing_from_psi() -> None:
    """The issue's attack: a member with a block of numbers that contains another
    member's numbers. Against the keyed-hash file it recovers all of them; against that
    member's PSI request it recovers none, unless it had the session scalar."""
    dictionary = [("phone", f"+6141234{i:04d}") for i in range(5000)]
    victim = random.Random(8).sample(dictionary, 25)
    group_secret = secrets.token_bytes(32)

    lines, _ = export_lines(group_secret, "g", victim)
    published = parse_lines(lines).hashes
    from_hmac = {d for d in dictionary if ("phone", keyed_hash(group_secret, *d)) in published}
    assert from_hmac == set(victim)

    request, state = start(victim, "victim", Mode.INTERSECTION)
    blinded = set(request.values)
    mine = X25519PrivateKey.generate()
    # Answering the request as respond() would: [m][a]H(x) for theirs, [m]H(d) for guesses.
    replies = {blind(mine, v) for v in request.values}
    answered = {d: blind(mine, point_of(*d)) for d in dictionary}
    attempts = {
        "hash the guess": {d for d in dictionary if point_of(*d) in blinded},
        "blind the guess with my scalar": {d for d, v in answered.items() if v in blinded},
        "answer the request with the guesses": {d for d, v in answered.items() if v in replies},
    }
    assert {name: len(found) for name, found in attempts.items()} == dict.fromkeys(attempts, 0)
    # The same harness succeeds with the victim's session scalar, which never leaves it.
    victim_key = X25519PrivateKey.from_private_bytes(state.scalar)
    with_scalar = {d for d in dictionary if blind(victim_key, point_of(*d)) in blinded}
    assert with_scalar == set(victim)


def test_requester_learns_nothing_of_the_responders_set_beyond_the_overlap() -> None:
    dictionary = [("phone", f"+6141234{i:04d}") for i in range(3000)]
    theirs = random.Random(9).sample(dictionary, 30)
    mine = [*theirs[:5], ("phone", "+639171234567")]
    request, state = start(mine, "a", Mode.INTERSECTION)
    response = respond(request, theirs, "b")
    assert finish(state, response).common == tuple(sorted(theirs[:5]))
    key = X25519PrivateKey.from_private_bytes(state.scalar)
    their_values = set(response.own) | {blind(key, v) for v in response.own}
    guessed = {d for d in dictionary if blind(key, point_of(*d)) in their_values}
    assert guessed == set()  # testing a guess needs the responder's scalar


def _files() -> tuple[list[str], list[str], str]:
    request, state = start(_phones(3, 10), "a", Mode.INTERSECTION)
    response = respond(request, _phones(2, 10), "b")
    return request.lines(), response.lines(), state.text()


@pytest.mark.parametrize(
    ("which", "edit", "message"),
    [
        ("request", lambda ls: [], "req.psi: line 1: the file is empty"),
        ("request", lambda ls: ["not json", *ls[1:]], "req.psi: line 1: expected a JSON"),
        ("request", lambda ls: ["[1]", *ls[1:]], "req.psi: line 1: expected a JSON object"),
        ("request", lambda ls: [ls[0].replace("request/1", "request/2"), *ls[1:]],
         "req.psi: line 1: this is version '2' of daybreak-psi-request; expected"),
        ("request", lambda ls: [ls[0].replace('"count": 3', '"count": "3"'), *ls[1:]],
         "req.psi: line 1: field 'count' missing or not a int"),
        ("request", lambda ls: [ls[0].replace('"intersection"', '"all"'), *ls[1:]],
         "req.psi: line 1: 'mode' must be 'intersection' or 'size'"),
        ("request", lambda ls: [*ls[:2], ls[2].upper(), *ls[3:]],
         "req.psi: line 3: expected 64 lower-case hex characters"),
        ("request", lambda ls: [ls[0], ls[2], ls[1], ls[3]],
         "req.psi: line 3: values must be sorted and distinct"),
        ("request", lambda ls: ls[:3], "req.psi: line 4: the file ends after 2 of 3 values"),
        ("request", lambda ls: [*ls, ls[-1]], "req.psi: line 5: more lines than the header"),
        ("response", lambda ls: [], "resp.psi: line 1: the file is empty"),
        ("response", lambda ls: [*ls[:4], "zz", *ls[5:]],
         "resp.psi: line 5: expected 64 lower-case hex characters"),
        ("response", lambda ls: ls[:-1], "resp.psi: line 6: the file ends after 1 of 2 values"),
        ("response", lambda ls: [ls[0].replace('"session": "', '"session": "x'), *ls[1:]],
         "resp.psi: line 1: 'session' must be 32 lower-case hex characters"),
    ],
)  # fmt: skip
def test_malformed_files_are_named_by_file_and_line(
    which: str, edit: Callable[[list[str]], list[str]], message: str
) -> None:
    req, resp, _ = _files()
    with pytest.raises(ShareError) as info:
        if which == "request":
            parse_request("\n".join(edit(req)), "req.psi")
        else:
            parse_response("\n".join(edit(resp)), "resp.psi")
    assert message in str(info.value)


def test_swapped_and_damaged_files_say_what_they_are() -> None:
    req, resp, state = _files()
    with pytest.raises(
        ShareError, match="this is a daybreak-psi-response/1 file; expected daybreak-psi-request/1"
    ):
        parse_request("\n".join(resp), "x.psi")
    with pytest.raises(ShareError, match="line 1: unexpected field"):
        parse_request("\n".join([req[0][:-1] + ', "extra": 1}', *req[1:]]), "x.psi")
    with pytest.raises(ShareError, match=r"st.json: line 1: 'scalar' must be 64"):
        parse_state(state.replace('"scalar": "', '"scalar": "00'), "st.json")
    with pytest.raises(
        ShareError, match=r"st.json: line 1: identifiers\[0\] must be \[kind, value\]"
    ):
        parse_state(
            json.dumps({**json.loads(state), "identifiers": [["customer", "C1"]]}), "st.json"
        )
    assert parse_request("\n".join(req), "ok").values == parse_request("\n".join(req) + "\n").values


def test_a_point_of_small_order_is_refused_by_the_responder() -> None:
    request, _ = start(_phones(2, 11), "a", Mode.INTERSECTION)
    zero = bytes(32)  # u = 0 is a point of order 2: any clamped scalar sends it to zero
    evil = replace(request, values=(zero, *request.values))
    with pytest.raises(ShareError, match="request value 1: a point of small order"):
        respond(evil, [], "b")


def test_responder_limits_and_log(tmp_path: Path) -> None:
    log_path = tmp_path / "psi.log"
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    limits = Limits(max_request=60, max_per_day=100)
    big, _ = start(_phones(61, 12), "a", Mode.INTERSECTION)
    with pytest.raises(Refused, match="61 identifiers; at most 60"):
        check(read_log(log_path), big, "bank-a", limits, now)
    first, _ = start(_phones(60, 13), "a", Mode.INTERSECTION)
    check(read_log(log_path), first, "bank-a", limits, now)
    record(log_path, first, "bank-a", "answered", now, own=7)
    with pytest.raises(Refused, match="already answered"):
        check(read_log(log_path), first, "bank-a", limits, now)
    second, _ = start(_phones(50, 14), "a", Mode.INTERSECTION)
    with pytest.raises(Refused, match="answered for 60 identifiers in the last 24 hours"):
        check(read_log(log_path), second, "bank-a", limits, now + timedelta(hours=23))
    check(read_log(log_path), second, "bank-b", limits, now)  # another peer has its own quota
    check(read_log(log_path), second, "bank-a", limits, now + timedelta(hours=25))
    entry = json.loads(log_path.read_text().splitlines()[0])
    assert entry["peer"] == "bank-a" and entry["count"] == 60 and entry["own"] == 7
    assert entry["session"] == first.session and entry["outcome"] == "answered"
    with log_path.open("a") as f:
        f.write("{broken\n")
    with pytest.raises(ShareError, match=r"psi.log: line 2: expected a PSI log entry"):
        read_log(log_path)


def test_state_scalar_is_fresh_each_session() -> None:
    states = [start([("phone", "+639171234567")], "a", Mode.SIZE)[1] for _ in range(3)]
    assert len({s.scalar for s in states}) == 3
    assert all(len(s.scalar) == 32 and s.scalar != bytes(32) for s in states)
