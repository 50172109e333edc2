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

    def extend(
        self,
        service: list[str],
        account: list[str],
        kind: str,
        owner: list[int],
        country: list[str],
        ip: list[str],
        dev: list[str],
    ) -> range:
        first = len(self.account)
        self.service += service
        self.account += account
        self.owner_kind += [kind] * len(account)
        self.owner += owner
        self.country += country
        self.ip += ip
        self.device += dev
        return range(first, len(self.account))

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
    abroad = np.array([CULTURES[c].country not in diaspora_home for c in pop.culture])
    has = rng.random(n) < np.where(abroad, 0.6, 0.35)
    has[list(wants)] = False
    has[pop.role == ROLE["payer_linked_account"]] = False
    others = np.flatnonzero(has)
    first = rng.integers(0, len(services), len(others))
    second = rng.integers(0, len(services), len(others))
    two = (rng.random(len(others)) < 0.2) & (second != first)
    # Payers first (few, several services each), then everyone else (one or two).
    owners = sorted(wants)
    svc = [s for c in owners for s in wants[c]]
    own = [c for c in owners for _ in wants[c]]
    one_idx = others.tolist()
    svc += [services[int(k)] for k in first] + [services[int(k)] for k in second[two]]
    own += one_idx + others[two].tolist()
    ips_by_owner = dict(
        zip(
            owners + one_idx,
            handles.ips(rng, [pop.country[c] for c in owners + one_idx]),
            strict=True,
        )
    )
    devs_by_owner = dict(
        zip(owners + one_idx, _devices(rng, len(owners) + len(one_idx)), strict=True)
    )
    made = acc.extend(
        svc,
        handles.account_ids(rng, len(svc)),
        "customer",
        own,
        [pop.country[c] for c in own],
        [ips_by_owner[c] for c in own],
        [devs_by_owner[c] for c in own],
    )
    for a, c in zip(made, own, strict=True):
        acc.by_customer.setdefault(c, []).append(a)
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
    abroad_c = ["PH", "TH", "CO", "MX", "DO", "US", "GB", "IN", "VN"]
    where = [
        home[int(x * len(home))] if x < 0.75 else abroad_c[int((x - 0.75) * 4 * len(abroad_c))]
        for x in rng.random(m)
    ]
    acc.extend(
        [services[int(k)] for k in rng.integers(0, len(services), m)],
        handles.account_ids(rng, m),
        "public",
        [-1] * m,
        where,
        handles.ips(rng, where),
        _devices(rng, m),
    )
    return acc
