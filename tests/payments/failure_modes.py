"""The three failure modes of issue #13, added to a synthetic world with truth labels.

* careful payers: one beneficiary (a facilitator other payers also pay, or a new hub
  only careful payers pay), daytime, blank references, a steady cadence every 10-30 days,
  remittance or wallet (label 1, scenario ``careful_steady``);
* business payroll: a firm paying 3-20 offshore contractors about monthly on a fixed
  day, office hours, round amounts, "invoice" references, some contractors paid by
  several firms (label 0: ``payroll_firm`` / ``contractor``);
* small allowances: a parent paying a student abroad every few days, "allowance" /
  "food" references, evening hours, the student's surname differing from the parent's
  (label 0: ``allowance_parent`` / ``student``).

Every parameter is drawn per world from ``seed``, so worlds differ in the way an
independent generator's would. Used by the tests and by ``benchmarks`` runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from daybreak.payments.scan import ScanResult

GIVEN = ["James", "Robert", "Michael", "David", "Paul", "Mark", "Steven", "Andrew", "Kevin",
         "Brian", "Gary", "Peter", "Susan", "Linda", "Karen", "Helen", "Ruth", "Carol"]  # fmt: skip
FAMILY = ["Walker", "Harris", "Lewis", "Young", "King", "Wright", "Hill", "Scott", "Green",
          "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Turner", "Parker", "Evans",
          "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper"]  # fmt: skip
STUDENT_GIVEN = ["Emma", "Olivia", "Liam", "Noah", "Ava", "Mia", "Ethan", "Lucas", "Chloe"]
CORRIDOR_PEOPLE = {
    "PH": (["Maria", "Joy", "Grace", "Angel", "Rhea"], ["Santos", "Reyes", "Cruz", "Bautista"]),
    "TH": (["Malee", "Siriporn", "Nok", "Ploy"], ["Srisuk", "Chaiyaporn", "Wongsa"]),
    "CO": (["Valentina", "Camila", "Laura"], ["Gomez", "Rodriguez", "Lopez"]),
    "IN": (["Priya", "Anjali", "Ravi", "Arjun"], ["Sharma", "Iyer", "Nair", "Reddy"]),
    "MX": (["Guadalupe", "Fernanda", "Jorge"], ["Hernandez", "Garcia", "Martinez"]),
}
FIRMS = ["Bright Pixel", "Harbour Digital", "Summit Analytics", "Koala Software", "Bluegum Media",
         "Southern Cross Design", "Redline Apps", "Wattle Consulting", "Coral Data", "Eureka Web"]  # fmt: skip
INVOICE_REFS = ("Invoice INV-{n:04d}", "invoice {mon}", "Inv {n}", "INVOICE {mon} {y}", "")
ALLOWANCE_REFS = ("allowance", "food", "food money", "weekly allowance", "", "rent", "books")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Rows:
    def __init__(self, tz: str, country: str, currency: str) -> None:
        self.tz, self.country, self.currency = ZoneInfo(tz), country, currency
        self.tx: list[dict[str, object]] = []
        self.customers: list[dict[str, object]] = []
        self.labels: list[tuple[str, str, int, str]] = []

    def customer(self, cid: str, name: str, gender: str, scenario: str, label: int) -> None:
        self.customers.append({"customer_id": cid, "name": name, "birth_year": 1970,
                               "gender": gender, "country": self.country,
                               "timezone": self.tz.key, "known_offender": False})  # fmt: skip
        self.labels.append(("customer", cid, label, scenario))

    def pay(self, sender: str, sname: str, day: datetime, hour: float, recv: str,
            rname: str, rc: str, amount: float, channel: str, ref: str) -> None:  # fmt: skip
        local = day.replace(tzinfo=self.tz) + timedelta(hours=hour)
        self.tx.append({
            "txn_id": f"X{len(self.tx) + 1:07d}", "timestamp": local.astimezone(UTC),
            "sender_id": sender, "sender_name": sname, "sender_country": self.country,
            "receiver_id": recv, "receiver_name": rname, "receiver_country": rc,
            "amount": round(amount, 2), "currency": self.currency, "channel": channel,
            "reference": ref or None, "merchant_category": None,
        })  # fmt: skip


def scored_customer(result: ScanResult, cid: str) -> dict[str, object]:
    """The scan's row of customer ``cid`` (fails the test when he was not scored)."""
    rows = result.customer_scores.filter(pl.col("sender_id") == cid).to_dicts()
    assert rows, f"{cid} was not scored"
    return rows[0]


def augment(world: Path, out: Path, seed: int, scale: float = 1.0) -> Path:
    """Copy ``world`` to ``out`` with the three failure modes added; returns ``out``."""
    rng = np.random.default_rng(seed)
    tx = pl.read_parquet(world / "transactions.parquet")
    cu = pl.read_parquet(world / "customers.parquet")
    labels = pl.read_csv(world / "truth" / "labels.csv", schema_overrides={"subject_id": pl.String})
    home = cu["country"].mode()[0]
    tz = cu.filter(pl.col("country") == home)["timezone"].mode()[0]
    currency = tx.filter(pl.col("sender_country") == home)["currency"].mode()[0]
    start = tx["timestamp"].min().replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    end = tx["timestamp"].max().replace(tzinfo=None)  # type: ignore[union-attr]
    days = (end - start).days
    r = _Rows(tz, home, currency)
    facs = _facilitators(tx, labels)
    _careful(r, rng, facs, start, days, round(30 * scale))
    _payroll(r, rng, start, days, round(25 * scale))
    _allowances(r, rng, start, days, round(40 * scale))
    (out / "truth").mkdir(parents=True, exist_ok=True)
    pl.concat([tx, pl.DataFrame(r.tx, schema=tx.schema)]).write_parquet(
        out / "transactions.parquet"
    )
    pl.concat([cu, pl.DataFrame(r.customers, schema=cu.schema)]).write_parquet(
        out / "customers.parquet"
    )
    extra = pl.DataFrame(
        r.labels, schema=["subject_type", "subject_id", "label", "scenario"], orient="row"
    ).with_columns(pl.lit(None, dtype=pl.String).alias("case_id"))
    done = set(labels.filter(pl.col("subject_type") == "beneficiary")["subject_id"])
    extra = extra.filter(~((pl.col("subject_type") == "beneficiary")
                           & pl.col("subject_id").is_in(list(done))))  # fmt: skip
    extra = extra.unique(["subject_type", "subject_id"], keep="first", maintain_order=True)
    pl.concat([labels, extra.select(labels.columns).cast(labels.schema)]).write_csv(
        out / "truth" / "labels.csv"
    )
    return out


def _facilitators(tx: pl.DataFrame, labels: pl.DataFrame) -> list[tuple[str, str, str]]:
    """(receiver_id, a name as written, country) of labelled facilitators."""
    fac = labels.filter((pl.col("subject_type") == "beneficiary") & (pl.col("label") == 1))
    seen = tx.filter(pl.col("receiver_id").is_in(fac["subject_id"].to_list()))
    first = seen.group_by("receiver_id").agg(pl.col("receiver_name").first(),
                                             pl.col("receiver_country").first())  # fmt: skip
    return [tuple(x) for x in first.sort("receiver_id").iter_rows()]  # type: ignore[misc]


def _name(rng: np.random.Generator, given: list[str], family: list[str]) -> str:
    return f"{given[int(rng.integers(len(given)))]} {family[int(rng.integers(len(family)))]}"


def _careful(r: _Rows, rng: np.random.Generator, facs: list[tuple[str, str, str]],
             start: datetime, days: int, n: int) -> None:  # fmt: skip
    # New hubs that only careful payers pay (3-4 each), and existing facilitators.
    hubs = []
    for h in range(max(1, n // 10)):
        c = ["PH", "TH", "CO"][h % 3]
        given, fam = CORRIDOR_PEOPLE[c]
        rid = f"wallet:{c.lower()}-hub{h:03d}"
        hubs += [(rid, _name(rng, given, fam), c)] * int(rng.integers(3, 5))
        r.labels.append(("beneficiary", rid, 1, "facilitator"))
    targets = hubs + [facs[int(i)] for i in rng.integers(0, len(facs), max(0, n - len(hubs)))]
    for i, (rid, rname, rc) in enumerate(targets[:n] if len(targets) > n else targets):
        cid = f"XC{i:05d}"
        name = _name(rng, GIVEN, FAMILY)
        r.customer(cid, name, "M", "careful_steady", 1)
        every = rng.uniform(10, 30)
        base = max(10.0, round(float(rng.lognormal(np.log(90), 0.35)) / 5) * 5)
        channel = "wallet" if rng.random() < 0.4 else "remittance"
        t = rng.uniform(0, every)
        while t < days - 1:
            day = start + timedelta(days=int(t) + int(rng.integers(-1, 2)))
            amount = base if rng.random() < 0.8 else base * rng.uniform(0.85, 1.2)
            ref = "transfer" if rng.random() < 0.05 else ""
            r.pay(cid, name, day, rng.uniform(9, 17), rid, rname, rc, amount, channel, ref)
            t += every


def _payroll(r: _Rows, rng: np.random.Generator, start: datetime, days: int, n: int) -> None:
    pool: list[tuple[str, str, str]] = []
    k = 0
    for f in range(n):
        cid = f"XF{f:05d}"
        firm = f"{FIRMS[f % len(FIRMS)]} {['Pty Ltd', 'Studio', 'Group', ''][f % 4]}".strip()
        r.customer(cid, firm, "M", "payroll_firm", 0)
        size = int(rng.integers(3, 21))
        staff = []
        for _ in range(size):
            if pool and rng.random() < 0.3:  # a contractor other firms pay too
                staff.append(pool[int(rng.integers(len(pool)))])
                continue
            c = ["PH", "IN", "CO", "MX", "TH"][int(rng.choice(5, p=[0.5, 0.2, 0.1, 0.1, 0.1]))]
            given, fam = CORRIDOR_PEOPLE[c]
            person = (f"acct:{c.lower()}-{k:05d}", _name(rng, given, fam), c)
            k += 1
            pool.append(person)
            staff.append(person)
            r.labels.append(("beneficiary", person[0], 0, "contractor"))
        fees = {p[0]: float(rng.choice([150, 200, 300, 400, 500, 800, 1200, 2000])) for p in staff}
        dom = int(rng.integers(1, 29))
        tmpl = INVOICE_REFS[int(rng.integers(len(INVOICE_REFS)))]
        channel = str(rng.choice(["wire", "remittance", "wallet"], p=[0.5, 0.4, 0.1]))
        month = start.replace(day=1)
        inv = 0
        while month < start + timedelta(days=days):
            pay_day = month.replace(day=dom)
            if start <= pay_day < start + timedelta(days=days):
                for rid, rname, rc in staff:
                    inv += 1
                    ref = tmpl.format(n=inv, mon=MONTHS[month.month - 1], y=month.year)
                    day = pay_day + timedelta(days=int(rng.integers(0, 2)))
                    amount = fees[rid] if rng.random() < 0.85 else fees[rid] * rng.uniform(0.7, 1.3)
                    r.pay(cid, firm, day, rng.uniform(9, 17), rid, rname, rc, amount, channel, ref)
            month = (month + timedelta(days=32)).replace(day=1)


def _allowances(r: _Rows, rng: np.random.Generator, start: datetime, days: int, n: int) -> None:
    students: list[tuple[str, str, str]] = []
    for i in range(n):
        cid = f"XA{i:05d}"
        family = FAMILY[int(rng.integers(len(FAMILY)))]
        name = f"{GIVEN[int(rng.integers(len(GIVEN)))]} {family}"
        r.customer(cid, name, "F" if rng.random() < 0.5 else "M", "allowance_parent", 0)
        if students and rng.random() < 0.1:  # the other parent of a student already paid
            student = students[int(rng.integers(len(students)))]
        else:
            c = ["PH", "TH", "MX", "CO", "IN"][int(rng.integers(5))]
            other = FAMILY[int(rng.integers(len(FAMILY)))]
            surname = family if rng.random() < 0.3 else other  # often another surname
            sname = f"{STUDENT_GIVEN[int(rng.integers(len(STUDENT_GIVEN)))]} {surname}"
            student = (f"wallet:{c.lower()}-student{i:05d}", sname, c)
            students.append(student)
            r.labels.append(("beneficiary", student[0], 0, "student"))
        every = rng.uniform(2, 5)
        median = float(rng.lognormal(np.log(40), 0.3))
        channel = "wallet" if rng.random() < 0.6 else "remittance"
        t = rng.uniform(0, every)
        begin = rng.uniform(0, days / 3)
        t += begin
        while t < days - 1:
            day = start + timedelta(days=int(t))
            amount = max(5.0, float(rng.lognormal(np.log(median), 0.3)))
            if rng.random() < 0.5:
                amount = round(amount / 5) * 5
            ref = ALLOWANCE_REFS[int(rng.integers(len(ALLOWANCE_REFS)))]
            r.pay(cid, name, day, rng.uniform(18, 22), *student, amount, channel, ref)
            t += every * rng.uniform(0.8, 1.2)


CUSTOMER_SCHEMA = {"customer_id": pl.String, "name": pl.String, "birth_year": pl.Int64,
                   "gender": pl.String, "country": pl.String, "timezone": pl.String,
                   "known_offender": pl.Boolean}  # fmt: skip
TX_SCHEMA = {"txn_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "sender_id": pl.String,
             "sender_name": pl.String, "sender_country": pl.String, "receiver_id": pl.String,
             "receiver_name": pl.String, "receiver_country": pl.String, "amount": pl.Float64,
             "currency": pl.String, "channel": pl.String, "reference": pl.String,
             "merchant_category": pl.String}  # fmt: skip


def small_world(seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A small world built from scratch (transactions, customers, labels): 30 family
    remitters, 4 bold payers sharing hub H1, careful payers on H1 and on H2 (a hub only
    careful payers pay), payroll firms sharing contractors, allowance parents, and a
    customer paying one unrelated friend. Fast enough for engine agreement tests."""
    rng = np.random.default_rng(seed)
    start, days = datetime(2025, 1, 1), 180
    r = _Rows("Australia/Sydney", "AU", "AUD")
    for i in range(30):  # family remitters: relatives share the surname
        fam = FAMILY[i % len(FAMILY)]
        cid, name = f"CF{i:03d}", f"{GIVEN[i % len(GIVEN)]} {fam}"
        r.customer(cid, name, "M", "family_remitter", 0)
        rid, rname = f"bdo:fam{i:03d}", f"Rosa {fam}"
        r.labels.append(("beneficiary", rid, 0, "family"))
        for m in range(6):
            day = start + timedelta(days=30 * m + int(rng.integers(0, 3)))
            ref = ["family support", "allowance", "", "school fees"][int(rng.integers(4))]
            amount = float(rng.choice([200, 250, 300, 400]))
            r.pay(cid, name, day, rng.uniform(17, 21), rid, rname, "PH", amount, "remittance", ref)
    hubs = {
        "H1": ("gcash:+639170001111", "Maria Santos"),
        "H2": ("gcash:+639170002222", "Joy Reyes"),
    }
    for rid, _ in hubs.values():
        r.labels.append(("beneficiary", rid, 1, "facilitator"))
    side = ("gcash:+639170003333", "Grace Cruz")
    r.labels.append(("beneficiary", side[0], 1, "facilitator"))
    for i in range(4):  # bold payers: night, cover words, H1 and a second woman
        cid, name = f"CB{i:03d}", f"{GIVEN[i]} {FAMILY[-1 - i]}"
        r.customer(cid, name, "M", "frequent_low_value", 1)
        for _ in range(int(rng.integers(12, 25))):
            day = start + timedelta(days=float(rng.uniform(0, days - 1)))
            rid, rname = hubs["H1"] if rng.random() < 0.7 else side
            ref = ["school fees", "gift", "load", ""][int(rng.integers(4))]
            amount = float(rng.uniform(20, 90))
            r.pay(
                cid,
                name,
                day,
                rng.uniform(23, 28) % 24,
                rid,
                rname,
                "PH",
                amount,
                "remittance",
                ref,
            )
    for i, h in enumerate(["H1", "H1", "H2", "H2", "H2"]):  # careful payers
        cid, name = f"CC{i:03d}", f"{GIVEN[-1 - i]} {FAMILY[i + 5]}"
        r.customer(cid, name, "M", "careful_steady", 1)
        every, t = rng.uniform(10, 30), rng.uniform(0, 5)
        while t < days - 1:
            r.pay(cid, name, start + timedelta(days=int(t)), rng.uniform(10, 15), *hubs[h], "PH",
                  80.0, "remittance", "")  # fmt: skip
            t += every
    shared = [(f"acct:ph-shared{k}", f"{['Ana', 'Lea'][k]} Bautista", "PH") for k in range(2)]
    for f in range(3):  # payroll firms paying 5 contractors each, 2 of them shared
        cid, firm = f"CP{f:03d}", f"{FIRMS[f]} Studio"
        r.customer(cid, firm, "M", "payroll_firm", 0)
        staff = shared + [(f"acct:ph-c{f}{k}", f"Rhea {['Lopez', 'Garcia', 'Reyes'][k]}", "PH")
                          for k in range(3)]  # fmt: skip
        for m in range(6):
            for k, (rid, rname, rc) in enumerate(staff):
                day = start + timedelta(days=30 * m + 24)
                r.pay(cid, firm, day, 10 + k * 0.5, rid, rname, rc, 150.0 + 50 * k, "wire",
                      f"Invoice INV-{f}{m}{k}")  # fmt: skip
    for rid, _, _ in shared:
        r.labels.append(("beneficiary", rid, 0, "contractor"))
    for i in range(3):  # allowance parents paying a student with another surname
        cid, name = f"CA{i:03d}", f"Helen {FAMILY[10 + i]}"
        r.customer(cid, name, "F", "allowance_parent", 0)
        t = 0.0
        while t < days - 1:
            r.pay(cid, name, start + timedelta(days=int(t)), 19.5, f"wallet:th-stu{i}",
                  f"Emma {FAMILY[20 + i]}", "TH", 35.0, "wallet", "allowance")  # fmt: skip
            t += 3.0
    r.customer("CX000", "Gary Hill", "M", "benign", 0)  # one unrelated friend, twice
    for k in range(2):
        r.pay("CX000", "Gary Hill", start + timedelta(days=40 * k), 12, "bdo:friend", "Tom Lee",
              "PH", 100.0, "wire", "birthday")  # fmt: skip
    labels = pl.DataFrame(r.labels, schema=["subject_type", "subject_id", "label", "scenario"],
                          orient="row").unique(["subject_type", "subject_id"], maintain_order=True)  # fmt: skip
    return (pl.DataFrame(r.tx, schema=TX_SCHEMA), pl.DataFrame(r.customers, schema=CUSTOMER_SCHEMA),
            labels)  # fmt: skip
