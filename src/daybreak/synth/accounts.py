"""Accounts on (fictional) platforms: customers', facilitators', their families' and the
general public's. The same person's account is what ties a bank's payer to a platform's
panic-button report, a call at night and a media-hash sighting."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from daybreak.synth import handles
from daybreak.synth.context import Ctx
from daybreak.synth.ledger import I64
from daybreak.synth.names_data import CULTURES
from daybreak.synth.payers import PayerPlan
from daybreak.synth.population import ROLE

OWNER_KINDS = ("customer", "facilitator", "family", "public")


@dataclass
class Accounts:
    service: list[str] = field(default_factory=list)
    account: list[str] = field(default_factory=list)
    owner_kind: list[str] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # customer / facilitator index, or -1
    country: list[str] = field(default_factory=list)
    ip: list[str] = field(default_factory=list)
    device: list[str] = field(default_factory=list)
    # lookups
    by_customer: dict[int, list[int]] = field(default_factory=dict)
    by_facilitator: dict[int, int] = field(default_factory=dict)
    family_of: dict[int, int] = field(default_factory=dict)  # customer -> family account

    def add(
        self, service: str, account: str, kind: str, owner: int, country: str, ip: str, dev: str
    ) -> int:
        self.service.append(service)
        self.account.append(account)
        self.owner_kind.append(kind)
        self.owner.append(owner)
        self.country.append(country)
        self.ip.append(ip)
        self.device.append(dev)
        return len(self.account) - 1

    def value(self, k: int) -> str:
        """The identifier value "service:account_id"."""
        return f"{self.service[k]}:{self.account[k]}"

    def of_kind(self, kind: str) -> I64:
        return np.array([i for i, k in enumerate(self.owner_kind) if k == kind], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.account)


def _devices(rng: np.random.Generator, n: int) -> list[str]:
    return [f"dev-{v:012x}" for v in rng.integers(0, 1 << 48, n)]


def build(ctx: Ctx, pl: PayerPlan) -> Accounts:
    rng = ctx.rng("accounts")
    pop = ctx.pop
    acc = Accounts()
    n = len(pop)
    services = handles.SERVICES
    # Payers: an account on every service their facilitators stream on, sometimes another.
    wants: dict[int, list[str]] = {}
    for i, c in enumerate(pl.payers):
        svc = sorted({pl.fac.service[f] for f in pl.facs[i]})
        if rng.random() < 0.3:
            svc.append(services[int(rng.integers(0, len(services)))])
        wants[int(c)] = list(dict.fromkeys(svc))
    diaspora_home = {CULTURES[c].country for c in ctx.profile.majority.values()}
    has = rng.random(n) < np.where(
        np.array([CULTURES[c].country not in diaspora_home for c in pop.culture]), 0.6, 0.35
    )
    for c in np.flatnonzero(has):
        if int(c) not in wants and pop.role[c] != ROLE["payer_linked_account"]:
            k = 1 + int(rng.random() < 0.2)
            wants[int(c)] = list(dict.fromkeys(services[int(s)] for s in rng.integers(0, 5, k)))
    owners = sorted(wants)
    ids = handles.account_ids(rng, sum(len(wants[c]) for c in owners))
    ips = handles.ips(rng, [pop.country[c] for c in owners])
    devs = _devices(rng, len(owners))
    k = 0
    for j, c in enumerate(owners):
        for service in wants[c]:
            a = acc.add(service, ids[k], "customer", c, pop.country[c], ips[j], devs[j])
            acc.by_customer.setdefault(c, []).append(a)
            k += 1
    # A known offender's second bank account belongs to the same person: same accounts.
    for i, j in pl.linked.items():
        acc.by_customer[j] = list(acc.by_customer.get(int(pl.payers[i]), []))
    for f in range(len(pl.fac.people)):
        acc.by_facilitator[f] = acc.add(
            pl.fac.service[f],
            pl.fac.account[f],
            "facilitator",
            f,
            pl.fac.country[f],
            pl.fac.ip[f],
            _devices(rng, 1)[0],
        )
    # Families of diaspora customers (video calls home look like corridor calls).
    fam = [c for c in pop.members("family_remitter") if int(c) in acc.by_customer]
    f_ids = handles.account_ids(rng, len(fam))
    f_country = [CULTURES[pop.culture[c]].country for c in fam]
    f_ips = handles.ips(rng, f_country)
    f_devs = _devices(rng, len(fam))
    for j, c in enumerate(fam):
        home_service = acc.service[acc.by_customer[int(c)][0]]
        acc.family_of[int(c)] = acc.add(
            home_service, f_ids[j], "family", int(c), f_country[j], f_ips[j], f_devs[j]
        )
    # The general public: friends, contacts, strangers; mostly at home, some abroad.
    m = max(200, n // 2)
    home = [c for c, _ in ctx.profile.countries]
    abroad = ["PH", "TH", "CO", "MX", "DO", "US", "GB", "IN", "VN"]
    where = [
        home[int(x * len(home))] if x < 0.75 else abroad[int((x - 0.75) * 4 * len(abroad))]
        for x in rng.random(m)
    ]
    p_ids = handles.account_ids(rng, m)
    p_svc = rng.integers(0, len(services), m)
    p_ips = handles.ips(rng, where)
    p_devs = _devices(rng, m)
    for j in range(m):
        acc.add(services[p_svc[j]], p_ids[j], "public", -1, where[j], p_ips[j], p_devs[j])
    return acc
