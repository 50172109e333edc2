"""Exact resolution and graph building on the hand-made world."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from graph_world import FACILITATOR, ts, write_world

from daybreak.graph import build_world_graph
from daybreak.graph.keys import NodeKeyError, subject_key
from daybreak.graph.loader import WorldError, load_world
from daybreak.graph.resolution import resolve_exact


def _edge_set(edges: pl.DataFrame) -> set[tuple[str, str, str]]:
    return set(edges.select("source", "target", "relation").iter_rows())


def test_identifiers_link_exactly_after_normalisation(tiny_world: Path) -> None:
    links = resolve_exact(load_world(tiny_world))
    edges = _edge_set(links.edges)
    handle = f"payment_handle:{FACILITATOR}"
    # A report naming the facilitator's handle meets the payments at one node.
    assert ("report:R1", handle, "payment") in edges
    assert ("customer:C1", handle, "paid") in edges
    # "+63 917 123 4567" in a report is the E.164 phone.
    assert ("report:R1", "phone:+639171234567", "reported_phone") in edges
    # E-mails compare lower-cased: C1 and C2 share one e-mail node.
    assert ("customer:C1", "email:john.doe@example.com", "has_identifier") in edges
    assert ("customer:C2", "email:john.doe@example.com", "has_identifier") in edges
    # Services are case-insensitive: KUMU:maria88 is kumu:maria88.
    assert ("account:kumu:maria88", "ip:198.51.100.7", "used_ip") in edges
    # A platform event's identifier belongs to the account that acted.
    assert ("account:kumu:john_d", "device:dev-1", "has_identifier") in edges
    assert ("media:S1", "account:kumu:maria88", "seen_with") in edges


def test_payment_edges_are_aggregated(tiny_world: Path) -> None:
    links = resolve_exact(load_world(tiny_world))
    paid = links.edges.filter((pl.col("relation") == "paid") & (pl.col("source") == "customer:C8"))
    assert paid.height == 1
    row = paid.row(0, named=True)
    assert (row["n"], row["amount"]) == (4, 100.0)
    assert row["first_seen"] < row["last_seen"]


def test_values_that_do_not_normalise_are_reported_not_dropped(tiny_world: Path) -> None:
    links = resolve_exact(load_world(tiny_world))
    issues = links.issues.to_dicts()
    assert len(issues) == 1
    assert issues[0]["record_id"] == "R2" and issues[0]["value"] == "not-a-phone"
    assert "phone" in issues[0]["error"]


def test_nodes_are_typed_and_labelled(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world, probabilistic=False)
    g = wg.graph
    assert g.nodes["customer:C1"]["kind"] == "customer"
    assert g.nodes["customer:C1"]["label"] == "John Doe"
    assert g.nodes[f"payment_handle:{FACILITATOR}"]["label"] == "Maria Santos"
    assert g.nodes["report:R2"]["kind"] == "report"  # a report with no usable identifier
    assert all(":" in n for n in g.nodes)


def test_account_nodes_carry_what_the_platform_knows(tiny_world: Path) -> None:
    g = build_world_graph(tiny_world, probabilistic=False).graph
    john = g.nodes["account:kumu:john_d"]
    assert john["details"] == f"kumu account; 25+; US; created {ts(-400):%Y-%m-%d}"
    assert john["country"] == "US"
    maria = g.nodes["account:kumu:maria88"]
    assert maria["details"].startswith("kumu account; no declared age; PH; created ")
    assert maria["details"].endswith("; verified")
    assert g.nodes["customer:C1"]["details"] == ""  # nothing beyond the name and country
    # a minor, by band or by flag alone
    frames = load_world(tiny_world)
    kid = frames.platform_accounts.with_columns(age_band=pl.lit("13-15"))
    flag = frames.platform_accounts.with_columns(age_band=pl.lit(None, pl.String),
                                                  is_minor=pl.lit(True))  # fmt: skip
    for accounts, said in ((kid, "13-15, a minor"), (flag, "; a minor; ")):
        nodes = resolve_exact(replace(frames, platform_accounts=accounts)).nodes
        row = nodes.filter(pl.col("key") == "account:kumu:john_d").row(0, named=True)
        assert said in row["details"]


def test_a_world_without_platform_accounts_has_accounts_without_details(
    tmp_path: Path,
) -> None:
    world = write_world(tmp_path / "w")
    (world / "platform_accounts.parquet").unlink()
    g = build_world_graph(world, probabilistic=False).graph
    assert g.nodes["account:kumu:john_d"]["details"] == ""


def test_csv_world_gives_the_same_graph(tmp_path: Path, tiny_world: Path) -> None:
    csv_world = write_world(tmp_path / "csv", fmt="csv")
    a = build_world_graph(tiny_world, probabilistic=False).graph
    b = build_world_graph(csv_world, probabilistic=False).graph
    assert set(a.nodes) == set(b.nodes)
    assert set(a.edges(keys=True)) == set(b.edges(keys=True))


def test_missing_world_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="transactions"):
        load_world(tmp_path)
    with pytest.raises(WorldError, match="not a folder"):
        load_world(tmp_path / "nope")


def test_subject_keys() -> None:
    assert subject_key("beneficiary", "GCash:+639171234567") == f"payment_handle:{FACILITATOR}"
    assert subject_key("customer", " C1 ") == "customer:C1"
    assert subject_key("entity", "phone:+63 917 123 4567") == "phone:+639171234567"
    with pytest.raises(NodeKeyError, match="entity"):
        subject_key("entity", "phone:not-a-phone")


def test_plain_scoped_values_get_the_keys_normalisation_gives_them() -> None:
    """Keys made on the whole column for plain ``service:id`` values are the keys the
    identifier types make one value at a time, and every other value (white space,
    invisible or full-width characters, empty parts, phones) still goes through them."""
    import random

    from daybreak.graph import keys
    from daybreak.graph.resolution import _key_map, _keys_of, _owner_key

    r = random.Random(7)
    alphabet = ["a", "B", "z", "0", "9", ":", "-", "_", ".", " ", "\u200b", "Ｇ", "é", "@", "+"]
    raws = ["", ":", "gcash:", ":x", "GCash:Ab:Cd", "Kinnect:ULX", "  kinnect : x ", "C00012"]
    raws += ["".join(r.choice(alphabet) for _ in range(r.randint(1, 9))) for _ in range(400)]
    cases = [
        (keys.identifier_key, ["account", "customer", "payment_handle", "beneficiary",
                               "device", "username", "phone", "email", "nonsense"]),
        (_owner_key, ["customers", "transactions", "platform_events", "reports"]),
    ]  # fmt: skip
    for to_key, kinds in cases:
        pairs = pl.DataFrame(
            [(k, v) for k in kinds for v in raws], schema=["_kind", "_raw"], orient="row"
        ).unique()
        fast = _keys_of(pairs, to_key).sort("_kind", "_raw")
        slow = _key_map(pairs, to_key).sort("_kind", "_raw")
        assert fast.to_dicts() == slow.to_dicts()
        assert fast["_key"].null_count() and fast["_err"].null_count()  # both kinds met


def test_plain_phones_e_mails_and_ips_get_the_keys_normalisation_gives_them() -> None:
    """The phones, e-mails and IPv4 addresses keyed on the whole column get the keys
    their identifier types give one at a time, and the values those rewrite or reject
    (a national prefix after the calling code, Argentina's optional one, leading zeros,
    impossible lengths, full-width digits, white space, invisible characters, dotted
    octets over 255 or with leading zeros) are left to the identifier types."""
    import random

    import phonenumbers

    from daybreak.graph import keys, plain_keys
    from daybreak.graph.resolution import _key_map, _keys_of

    r = random.Random(15)
    phones = ["+0123456789", "+１２３４５６７８９０", "+61 421 817 250", "+61421817250\u200b",
              "0061421817250", "+61421817250\n", "+61-421817250", "+", "+1", "+12"]  # fmt: skip
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for length in range(1, 19):
            for first in (r.choice("0123456789"), "0", "1", str(r.randint(2, 9))):
                rest = "".join(r.choice("0123456789") for _ in range(length - 1))
                phones.append(f"+{code}{first}{rest}")
    chars = ["a", "Z", "0", ".", "@", "-", "_", "+", " ", "\n", "\u200b", "Ｅ", "É", "İ", "ß"]
    emails = ["A.B@Example.COM", "a@b.c", "a@b", "@b.c", "a@@b.c", " a@b.c", "a@b.c\n"]
    emails += ["".join(r.choice(chars) for _ in range(r.randint(3, 12))) for _ in range(800)]
    plain = chars[:8]
    emails += [
        "".join(r.choice(plain) for _ in range(r.randint(1, 6))) + "@x.Org" for _ in range(300)
    ]
    ips = ["1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", " 1.2.3.4", "::1"]
    octets = ["0", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "007", "1a"]
    ips += [".".join(r.choice(octets) for _ in range(r.choice((3, 4, 4, 5)))) for _ in range(600)]
    pairs = pl.DataFrame(
        [("phone", v) for v in phones] + [("email", v) for v in emails] + [("ip", v) for v in ips],
        schema=["_kind", "_raw"],
        orient="row",
    ).unique()
    fast = _keys_of(pairs, keys.identifier_key).sort("_kind", "_raw")
    slow = _key_map(pairs, keys.identifier_key).sort("_kind", "_raw")
    assert fast.to_dicts() == slow.to_dicts()
    # The fast paths did the work they are there for, and left the rest.
    for rule, kind in ((plain_keys.phone_rule, "phone"), (plain_keys.email_rule, "email"),
                       (plain_keys.ipv4_rule, "ip")):  # fmt: skip
        done, left = rule(pairs.filter(pl.col("_kind") == kind))
        assert done.height >= 100 and left.height >= 100, (kind, done.height, left.height)
    assert slow["_err"].null_count() < slow.height  # some values are rejected
