"""A customer's first stage in Python: the second implementation of the compiled scan's
``customer_base_scores`` row (``compiler.compile_scan(pinned=True)``), from the
customer's own relevant rows, its customers-file row and the pinned context alone.

Real-time scoring (:mod:`daybreak.payments.realtime`) reads, for a payment, the
payer's first-stage row and the network rounds over *other* senders' first-stage
scores. A sender's first stage reads only its own rows (and the world-wide context the
state pins), so it can be kept per customer and recomputed when that customer pays,
without SQL. This module is that recomputation; it is kept equal to the SQL by
``tests/payments/test_realtime_features.py`` (every customer of development worlds,
within a tolerance for float sums). Nothing here opens an engine or a file.

What each piece mirrors (``daybreak.payments.compiler`` unless named):

* ``corridor_payments``: the reference amount and rate, low value, sender-local night
  and office hours, whole tens, the cover word (``_cover_patterns``), the channel risk;
* ``sender_sequence`` and ``context.runs_sql``: trends, cadence, pay runs, the union of
  the purchase windows;
* ``pair_names`` ... ``pair`` (``payments.names``): family ties, female given names,
  organisations, households abroad and aliases, per beneficiary;
* ``customer_activity`` with ``context.payroll_pattern_sql``;
* ``sender_words`` / ``sender_cover`` against the pinned ``word_spec``;
* ``flagged_purchases`` ... ``corridor_card_spend`` against the pinned period;
* ``offender_candidates`` / ``offender_links``;
* ``customer_features``, ``context.pinned_peer_sql``, the local strengths (the pack's
  rules, evaluated by :func:`evaluate_rule`) and ``base_score``.
"""

from __future__ import annotations

import bisect
import math
import re
import sys
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from operator import attrgetter
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from sqlglot import exp

from daybreak.payments import context as ctx
from daybreak.payments.compiler import (
    DAY,
    FLIGHT_WEIGHT,
    SPEND_CHANNELS,
    _mcc_rows,
    fold_free,
    strength_column,
)
from daybreak.payments.config import Pack
from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES
from daybreak.payments.names import _accent_table, fold_word, name_tokens
from daybreak.payments.rules import parse_rule

Row = Mapping[str, Any]
T = TypeVar("T")


def _per_pack(fn: Callable[[Pack], T]) -> Callable[[Pack], T]:
    """``fn`` remembered per pack object (a pack is not hashable; it is immutable)."""
    memo: dict[int, tuple[Pack, T]] = {}

    def wrapped(pack: Pack) -> T:
        hit = memo.get(id(pack))
        if hit is None or hit[0] is not pack:
            hit = memo[id(pack)] = (pack, fn(pack))
        return hit[1]

    return wrapped


# --- the pack's rules, evaluated in Python ------------------------------------------


def evaluate_rule(tree: exp.Expression, row: Row) -> float:
    """A parsed rule (``rules.parse_rule``: ramp expanded) on one row of features,
    clipped to [0, 1] with NULL read as 0, as ``rules.compile_rule``'s SQL is."""
    value = _compiled_rule(id(tree), tree)(row)
    x = 0.0 if value is None else float(value)
    return min(1.0, max(0.0, x))


_RULES: dict[int, tuple[exp.Expression, Callable[[Row], Any]]] = {}


def _compiled_rule(key: int, tree: exp.Expression) -> Callable[[Row], Any]:
    """The rule as a Python function, made once per tree (walking the tree on every row
    cost most of a payment's first stage; closures per node still half of it)."""
    hit = _RULES.get(key)
    if hit is None or hit[0] is not tree:
        hit = _RULES[key] = (tree, _RuleSource(tree).function())
    return hit[1]


class _RuleSource:
    """Python source for ``_eval`` of a rule tree: one statement per node, NULL as None
    (a NULL operand makes a NULL result, as ``_BINARY`` has it), CASE and coalesce
    evaluated lazily as ``_eval`` does. Nodes without a translation call ``_eval``."""

    def __init__(self, tree: exp.Expression) -> None:
        self.tree = tree
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "_eval": _eval, "_power": _power, "_fmod": math.fmod, "_log": math.log,
            "_exp": math.exp, "_sqrt": math.sqrt,
        }  # fmt: skip
        self.count = 0

    def function(self) -> Callable[[Row], Any]:
        result = self.emit(self.tree, 1)
        source = "def rule(row):\n" + "\n".join(self.lines) + f"\n    return {result}\n"
        namespace = dict(self.names)
        exec(compile(source, "<payments rule>", "exec"), namespace)
        rule: Callable[[Row], Any] = namespace["rule"]
        return rule

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def const(self, value: Any) -> str:
        name = f"k{len(self.names)}"
        self.names[name] = value
        return name

    def put(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def emit(self, node: exp.Expression, depth: int) -> str:
        """Statements computing ``node`` at ``depth``; returns the name holding it."""
        if isinstance(node, exp.Paren):
            return self.emit(node.this, depth)
        if isinstance(node, exp.Column):
            return self.assign(depth, f"row.get({node.name!r})")
        if isinstance(node, (exp.Literal, exp.Boolean, exp.Null)):
            return self.const(_eval(node, {}))
        if isinstance(node, exp.Cast):
            a = self.emit(node.this, depth)
            return self.assign(depth, f"None if {a} is None else float({a})")
        if isinstance(node, exp.Neg):
            a = self.emit(node.this, depth)
            return self.assign(depth, f"None if {a} is None else -{a}")
        if isinstance(node, (exp.Greatest, exp.Least)):
            args = [self.emit(a, depth) for a in [node.this, *node.expressions]]
            pick = "max" if isinstance(node, exp.Greatest) else "min"
            present = self.assign(depth, f"[x for x in ({', '.join(args)},) if x is not None]")
            return self.assign(depth, f"{pick}({present}) if {present} else None")
        if isinstance(node, exp.Coalesce):
            out = self.assign(depth, "None")
            self.coalesce([node.this, *node.expressions], out, depth)
            return out
        if isinstance(node, exp.Case):
            out = self.assign(depth, "None")
            self.case(list(node.args.get("ifs") or []), node.args.get("default"), out, depth)
            return out
        binary = _BINARY_SOURCE.get(type(node))
        if binary is not None:
            a, b = self.emit(node.this, depth), self.emit(node.expression, depth)
            return self.assign(
                depth, f"None if {a} is None or {b} is None else " + binary.format(a=a, b=b)
            )
        return self.assign(depth, f"_eval({self.const(node)}, row)")

    def assign(self, depth: int, expression: str) -> str:
        name = self.var()
        self.put(depth, f"{name} = {expression}")
        return name

    def coalesce(self, args: list[exp.Expression], out: str, depth: int) -> None:
        if not args:
            return
        value = self.emit(args[0], depth)
        self.put(depth, f"if {value} is not None:")
        self.put(depth + 1, f"{out} = {value}")
        if args[1:]:
            self.put(depth, "else:")
            self.coalesce(args[1:], out, depth + 1)

    def case(
        self, ifs: list[exp.Expression], default: exp.Expression | None, out: str, depth: int
    ) -> None:
        if not ifs:
            if default is not None:
                self.put(depth, f"{out} = {self.emit(default, depth)}")
            return
        cond = self.emit(ifs[0].this, depth)
        self.put(depth, f"if {cond} is True:")
        self.put(depth + 1, f"{out} = {self.emit(ifs[0].args['true'], depth + 1)}")
        self.put(depth, "else:")
        self.put(depth + 1, "pass")
        self.case(ifs[1:], default, out, depth + 1)


# ``_BINARY`` as source, for :class:`_RuleSource` (the operands are not None).
_BINARY_SOURCE: dict[type[exp.Expression], str] = {
    exp.Add: "{a} + {b}",
    exp.Sub: "{a} - {b}",
    exp.Mul: "{a} * {b}",
    exp.Div: "(None if {b} == 0 else {a} / {b})",
    exp.Mod: "(None if {b} == 0 else _fmod({a}, {b}))",
    exp.Pow: "_power(float({a}), float({b}))",
    exp.EQ: "{a} == {b}",
    exp.NEQ: "{a} != {b}",
    exp.GT: "{a} > {b}",
    exp.GTE: "{a} >= {b}",
    exp.LT: "{a} < {b}",
    exp.LTE: "{a} <= {b}",
}


_BINARY: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: None if b == 0 else a / b,
    exp.Mod: lambda a, b: None if b == 0 else math.fmod(a, b),
    exp.Pow: lambda a, b: _power(float(a), float(b)),
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}


def _power(a: float, b: float) -> float | None:
    """``power`` as the compiled rule has it (``rules._guarded``): NULL where it has no
    real value, infinity where it overflows (as DuckDB's)."""
    if (a < 0 and b != math.floor(b)) or (a == 0 and b < 0):
        return None
    try:
        return float(a**b)
    except OverflowError:
        return math.inf


def _eval(node: exp.Expression, row: Row) -> Any:
    if isinstance(node, exp.Paren):
        return _eval(node.this, row)
    if isinstance(node, exp.Column):
        return row.get(node.name)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else float(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Cast):
        v = _eval(node.this, row)
        return None if v is None else float(v)
    if isinstance(node, exp.Neg):
        v = _eval(node.this, row)
        return None if v is None else -v
    if isinstance(node, (exp.Greatest, exp.Least)):
        values = [_eval(a, row) for a in [node.this, *node.expressions]]
        present = [v for v in values if v is not None]  # DuckDB's greatest skips NULLs
        if not present:
            return None
        return max(present) if isinstance(node, exp.Greatest) else min(present)
    if isinstance(node, exp.Coalesce):
        for a in [node.this, *node.expressions]:
            v = _eval(a, row)
            if v is not None:
                return v
        return None
    if isinstance(node, exp.And):
        a, b = _eval(node.this, row), _eval(node.expression, row)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if isinstance(node, exp.Or):
        a, b = _eval(node.this, row), _eval(node.expression, row)
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if isinstance(node, exp.Not):
        v = _eval(node.this, row)
        return None if v is None else not v
    if isinstance(node, exp.Case):
        for branch in node.args.get("ifs") or []:
            if _eval(branch.this, row) is True:
                return _eval(branch.args["true"], row)
        default = node.args.get("default")
        return None if default is None else _eval(default, row)
    if isinstance(node, exp.If):
        if _eval(node.this, row) is True:
            return _eval(node.args["true"], row)
        other = node.args.get("false")
        return None if other is None else _eval(other, row)
    if isinstance(node, exp.Between):
        v, lo, hi = (
            _eval(node.this, row),
            _eval(node.args["low"], row),
            _eval(node.args["high"], row),
        )
        return None if None in (v, lo, hi) else lo <= v <= hi
    if isinstance(node, (exp.Abs, exp.Ln, exp.Exp, exp.Sqrt)):
        v = _eval(node.this, row)
        if v is None:
            return None
        if isinstance(node, exp.Abs):
            return abs(v)
        if isinstance(node, exp.Exp):
            return math.exp(v)
        if v < 0 or (v == 0 and isinstance(node, exp.Ln)):
            return None
        return math.log(v) if isinstance(node, exp.Ln) else math.sqrt(v)
    return _binary(node, row)


def _binary(node: exp.Expression, row: Row) -> Any:
    op = _BINARY.get(type(node))
    if op is None:
        raise ValueError(f"rule node {node.key!r} has no Python evaluation")
    a, b = _eval(node.this, row), _eval(node.expression, row)
    return None if a is None or b is None else op(a, b)


@cache
def customer_rule(text: str) -> exp.Expression:
    return parse_rule(text, CUSTOMER_FEATURES)


@cache
def beneficiary_rule(text: str) -> exp.Expression:
    return parse_rule(text, BENEFICIARY_FEATURES)


def local_score(pack: Pack, row: Row) -> tuple[dict[str, float], float]:
    """The local (non-network) typologies' strengths of a customer row and its
    first-stage score, as ``customer_local_strengths`` / ``customer_base_scores``."""
    rules = _local_rules(pack)
    strengths = {column: evaluate_rule(tree, row) for column, tree, _ in rules}
    z = pack.bias + sum(weight * strengths[column] for column, _, weight in rules)
    return strengths, 1.0 / (1.0 + math.exp(-z))


@_per_pack
def _local_rules(pack: Pack) -> tuple[tuple[str, exp.Expression, float], ...]:
    """The local typologies' strength columns, parsed rules and weights."""
    return tuple(
        (strength_column(t), customer_rule(t.strength), t.weight)
        for t in pack.typologies_for("customer")
        if not t.network
    )


# --- what a customer's first stage reads besides its own rows -------------------------


@dataclass(frozen=True)
class Peers:
    """The pinned peer values (``pinned_peers``), sorted per group and over all, so a
    rank is a binary search."""

    groups: Mapping[tuple[str, str, str], tuple[list[float], ...]]
    everyone: tuple[list[float], ...]

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Peers:
        n = len(ctx.PEER_FEATURES)
        groups: dict[tuple[str, str, str], tuple[list[float], ...]] = {}
        everyone: tuple[list[float], ...] = tuple([] for _ in range(n))
        for r in rows:
            key = (r["countries"], r["currency"], r["main_channel"])
            # A NULL key joins no group (SQL equality); the row still ranks everyone.
            group = groups.setdefault(key, tuple([] for _ in range(n))) if None not in key else None
            for i in range(n):
                v = r[f"pf_{i}"]
                if v is None:  # NULL < x is never true
                    continue
                everyone[i].append(float(v))
                if group is not None:
                    group[i].append(float(v))
        for values in [*groups.values(), everyone]:
            for column in values:
                column.sort()
        return cls(groups, everyone)


class CustomerRow(Mapping[str, Any]):
    """A customers-file row, the columns the first stage reads, in a tuple (a dict per
    customer took a third of the in-memory state); small values interned."""

    __slots__ = ("_values",)
    FIELDS = ("customer_id", "name", "birth_year", "gender", "country", "timezone",
              "known_offender")  # fmt: skip
    _FEW = ("gender", "country", "timezone")  # values of few distinct ones: interned
    _AT: ClassVar[dict[str, int]] = {name: i for i, name in enumerate(FIELDS)}

    def __init__(self, row: Row) -> None:
        self._values = tuple(
            sys.intern(v) if isinstance(v, str) and k in self._FEW else v
            for k, v in ((k, row.get(k)) for k in self.FIELDS)
        )

    def __getitem__(self, key: str) -> Any:
        return self._values[self._AT[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.FIELDS)

    def __len__(self) -> int:
        return len(self.FIELDS)


@dataclass(frozen=True)
class FirstStageContext:
    """Everything a first stage reads besides the customer's own rows: the pack, the
    customers file (by id), the known offenders' folded names, and the pinned context
    (cover words' specificity, peers, period)."""

    pack: Pack
    customers: Mapping[str, Row]
    offenders: Mapping[tuple[str, int], frozenset[str]]  # (name key, birth year) -> ids
    word_spec: Mapping[str, float]
    peers: Peers
    peer_sizes: Mapping[tuple[str, str, str], int]
    peers_total: int
    period: tuple[float, float]
    # corridor payments made so far, by txn_id (``_payments``)
    payments: dict[str, Payment] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        pack: Pack,
        customers: Iterable[Row],
        word_spec: Iterable[Row],
        peers: Sequence[Row],
        period: Row,
    ) -> FirstStageContext:
        by_id = {str(c["customer_id"]): CustomerRow(c) for c in customers}
        offenders: dict[tuple[str, int], set[str]] = defaultdict(set)
        for cid, c in by_id.items():
            if c.get("known_offender") and c.get("name") is not None:
                key = name_key(c["name"], pack)
                if key and c.get("birth_year") is not None:
                    offenders[(key, int(c["birth_year"]))].add(cid)
        sizes: dict[tuple[str, str, str], int] = defaultdict(int)
        for r in peers:
            sizes[(r["countries"], r["currency"], r["main_channel"])] += 1
        return cls(
            pack,
            by_id,
            {k: frozenset(v) for k, v in offenders.items()},
            {str(w["cover_word"]): float(w["spec"]) for w in word_spec if w["cover_word"]},
            Peers.of(peers),
            dict(sizes),
            len(peers),
            (float(period["d0"]), float(period["d1"])),
        )


# --- names -------------------------------------------------------------------------


def name_key(name: str | None, pack: Pack) -> str:
    """The folded name key of the SQL (``compiler._name_key_sql``)."""
    return _name_key(name, pack.name_particles)


@lru_cache(maxsize=1 << 16)
def _name_key(name: str | None, particles: tuple[str, ...]) -> str:
    # Names repeat (a sender's on each pair, hub beneficiaries'): folding one costs
    # ~2 ms (the particles are folded again on each call).
    return " ".join(name_tokens(name, particles))


@_per_pack
def _name_patterns(pack: Pack) -> tuple[re.Pattern[str], re.Pattern[str]]:
    female = sorted({fold_word(n) for n in pack.female_given_names} - {""})
    female_re = "(?:^| )(?:" + ("|".join(w for w in female if " " not in w) or "-") + ")(?: |$)"
    org_words = "|".join(fold_free(w) for w in pack.organisation_words) or "-"
    return re.compile(female_re), re.compile(f"(?:^|[^a-z])({org_words})(?:[^a-z]|$)")


_NOT_PRINTABLE = re.compile("[^ -~]")


def _folded_low(name: str) -> str:
    low = name.lower()
    return low.translate(_accent_table()) if _NOT_PRINTABLE.search(low) else low


# --- references ---------------------------------------------------------------------


@_per_pack
def _cover_patterns(pack: Pack) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    words = "|".join(fold_free(w) for w in pack.cover_words)
    handle = re.compile(pack.handle_pattern) if pack.handle_pattern else None
    return re.compile(f"(?:^|[^a-z])({words})(?:[^a-z]|$)"), handle


_NOT_LETTERS = re.compile("[^a-z]+")


def cover_of(reference: str | None, pack: Pack) -> tuple[int, str | None]:
    """(1 when the reference has a cover word or handle, the cover word or None)."""
    ref = (reference or "").lower()
    word_re, handle_re = _cover_patterns(pack)
    m = word_re.search(ref)
    cover = m is not None or (handle_re is not None and handle_re.search(ref) is not None)
    word = _NOT_LETTERS.sub(" ", m.group(1)) if m is not None and m.group(1) else None
    return int(cover), word


# --- the first stage ----------------------------------------------------------------


def ramp(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (float(x) - lo) / (hi - lo)))


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _median(xs: Sequence[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    n = len(s)
    lo = s[(n - 1) // 2]
    hi = s[n // 2]
    return lo + (hi - lo) * 0.5


def _corr(xs: Sequence[float], ys: Sequence[float]) -> float:
    """``_finite(corr(x, y))``: 0 for fewer than two pairs or no variance."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


def _blank(text: str | None) -> bool:
    return text is None or text.strip(" ") == ""


def _epoch(ts: datetime) -> float:
    return ts.timestamp()


def is_relevant(row: Row, pack: Pack) -> bool:
    """``compiler.relevant_filter`` on one row."""
    rc, sc = row.get("receiver_country"), row.get("sender_country")
    if rc in pack.corridor_countries and rc != sc and rc is not None and sc is not None:
        return True
    return row.get("channel") == "card" and row.get("merchant_category") in _mcc_kinds(pack)


@_per_pack
def _mcc_kinds(pack: Pack) -> dict[str, tuple[str, ...]]:
    kinds: dict[str, list[str]] = defaultdict(list)
    for code, kind in _mcc_rows(pack):
        kinds[code].append(kind)
    return {k: tuple(v) for k, v in kinds.items()}


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(slots=True)
class Payment:
    """One of the sender's ``corridor_payments`` (the columns the scan reads)."""

    txn_id: str
    ts: datetime
    ts_s: float
    receiver_id: str
    receiver_name: str | None
    sender_name: str | None
    sender_country: str
    receiver_country: str
    amount: float
    currency: str
    channel: str
    amount_ref: float
    fx_rate: float
    low_value: int
    night: int
    office: int
    whole: int
    cover: int
    cover_word: str | None
    channel_w: float
    day_n: float


def payment_of(r: Row, customer: Row | None, pack: Pack) -> Payment | None:
    """One relevant row as a corridor payment (None for a spending row, or a currency
    the pack has no rate for). Countries, currencies and channels are interned: the
    in-memory state keeps one copy of each."""
    if r["channel"] in SPEND_CHANNELS or r["currency"] not in pack.fx_to_reference:
        return None
    n0, n1 = pack.night.start_hour, pack.night.end_hour
    o0, o1 = ctx.OFFICE_HOURS
    rate = pack.fx_to_reference[r["currency"]]
    tz = (customer or {}).get("timezone") or pack.default_timezones.get(r["sender_country"], "UTC")
    ts: datetime = r["timestamp"]
    hr = ts.astimezone(_zone(tz)).hour
    night = (hr >= n0 or hr < n1) if n0 > n1 else (n0 <= hr < n1)
    amount = float(r["amount"])
    cover, word = cover_of(r.get("reference"), pack)
    ts_s = _epoch(ts)
    return Payment(
        r["txn_id"],
        ts,
        ts_s,
        r["receiver_id"],
        r.get("receiver_name"),
        r.get("sender_name"),
        sys.intern(r["sender_country"]),
        sys.intern(r["receiver_country"]),
        amount,
        sys.intern(r["currency"]),
        sys.intern(r["channel"]),
        amount * rate,
        rate,
        int(amount <= pack.low_value_cap(r["currency"])),
        int(night),
        int(o0 <= hr < o1),
        int(abs(amount - 10.0 * round(amount / 10.0)) < 0.005),
        cover,
        _interned(word),
        float(pack.channel_risk.get(r["channel"], 0.0)),
        math.floor(ts_s / DAY),
    )


def _interned(text: str | None) -> str | None:
    """A value of few distinct ones (a cover word) held once (ids and names are not
    interned: the interpreter's table would cost more than their repeats)."""
    return None if text is None else sys.intern(text)


def payment_order(p: Payment) -> tuple[float, str]:
    """The order of a sender's corridor payments (``sender_sequence``)."""
    return (p.ts_s, p.txn_id)


def _payments(
    rows: Iterable[Row], customer: Row | None, pack: Pack, made: dict[str, Payment]
) -> list[Payment]:
    """The customer's ``corridor_payments`` in time order (ts_s, txn_id); ``made``
    holds those made before, by ``txn_id`` (a row never changes, and its sender's
    customers-file row is fixed for the context's life)."""
    out = []
    for r in rows:
        known = made.get(r["txn_id"])
        if known is None:
            payment = payment_of(r, customer, pack)
            if payment is None:
                continue
            known = made[r["txn_id"]] = payment
        out.append(known)
    out.sort(key=payment_order)
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(ts: datetime) -> int:
    """``ts`` in microseconds since the epoch (exact: ``/ 1e6`` gives ``ts.timestamp()``)."""
    d = ts - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


@dataclass(slots=True)
class Spending:
    """What the first stage reads of a sender's spending rows: how many were spent in
    a corridor country abroad (``corridor_card_spend``) and its flagged purchases
    (``flagged_purchases``), as columns: the ids, the times in microseconds since the
    epoch and the merchant code's kinds (an index into :func:`_kind_sets`)."""

    corridor_spend: int = 0
    ids: str = ""  # the ids one after the other (one string, not one object an id)
    ends: array[int] = field(default_factory=lambda: array("I"))  # where each id ends
    micros: array[int] = field(default_factory=lambda: array("q"))
    kinds: array[int] = field(default_factory=lambda: array("H"))

    def add(self, r: Row, pack: Pack) -> bool:
        """Take one relevant row; False when it is not a spending row the first stage
        reads (a corridor payment)."""
        ch = r["channel"]
        taken = False
        if (
            ch in SPEND_CHANNELS
            and r["receiver_country"] in pack.corridor_countries
            and r["receiver_country"] != r["sender_country"]
        ):
            self.corridor_spend += 1
            taken = True
        kind_sets = _kind_sets(pack)
        if ch == "card" and r.get("merchant_category") in kind_sets[1]:
            self.ids += str(r["txn_id"])
            self.ends.append(len(self.ids))
            self.micros.append(epoch_micros(r["timestamp"]))
            self.kinds.append(kind_sets[1][r["merchant_category"]])
            taken = True
        return taken

    def flagged(self, pack: Pack) -> Iterable[tuple[str, float, int, tuple[str, ...]]]:
        """(txn_id, seconds, microseconds since the epoch, kinds) of each flagged purchase."""
        sets = _kind_sets(pack)[0]
        start = 0
        for end, us, k in zip(self.ends, self.micros, self.kinds, strict=True):
            yield self.ids[start:end], us / 1e6, us, sets[k]
            start = end


@_per_pack
def _kind_sets(pack: Pack) -> tuple[list[tuple[str, ...]], dict[str, int]]:
    """The distinct kinds of the listed merchant codes, and each code's index in them."""
    sets: list[tuple[str, ...]] = []
    index: dict[str, int] = {}
    for code, kinds in _mcc_kinds(pack).items():
        if kinds not in sets:
            sets.append(kinds)
        index[code] = sets.index(kinds)
    return sets, index


def _sequence(pays: list[Payment], window: float) -> dict[str, Any]:
    """``sender_sequence`` of time-ordered payments."""
    n = len(pays)
    rn = [float(i + 1) for i in range(n)]
    gaps = [pays[i].ts_s - pays[i - 1].ts_s for i in range(1, n)]
    mean_gap = _mean(gaps)
    if len(gaps) >= 2 and mean_gap:
        sd = math.sqrt(sum((g - mean_gap) ** 2 for g in gaps) / (len(gaps) - 1))
        gap_cv = sd / mean_gap
    else:
        gap_cv = 0.0
    w2 = 2 * window
    days: dict[float, list[str]] = defaultdict(list)
    for p in pays:
        days[p.day_n].append(p.receiver_id)
    run = sum(len(r) for r in days.values() if len(r) >= 2 and len(set(r)) >= 2)
    return {
        "amount_trend": _corr(rn, [p.amount_ref for p in pays]),
        "gap_trend": _corr(rn[1:], gaps),
        "gap_cv": gap_cv,
        "first_amounts": _mean([p.amount for p in pays[:3]]),
        "last_amounts": _mean([p.amount for p in pays[-3:]]),
        "union_s": float(w2 + sum(min(g, w2) for g in gaps)) if n else None,
        "first_s": pays[0].ts_s,
        "last_s": pays[-1].ts_s,
        "run_payments": run,
    }


def _tokens_overlap(a: str, b: str) -> bool:
    return bool(set(a.split(" ")) & set(b.split(" ")))


@dataclass(slots=True)
class Pair:
    """One row of ``pair``: the sender's ties to one beneficiary."""

    receiver_id: str
    n: int
    low_value_share: float
    sender_country: str
    related: int
    female: int
    org: int
    sk: str
    given: str
    family: str
    household: int = 0
    alias: int = 0


def pairs_of(pays: list[Payment], customer: Row | None, pack: Pack) -> list[Pair]:
    """The sender's ``pair`` rows (ties by name, households abroad, aliases)."""
    by_receiver: dict[str, list[Payment]] = defaultdict(list)
    for p in pays:
        by_receiver[p.receiver_id].append(p)
    female_re, org_re = _name_patterns(pack)
    out = []
    for receiver, ps in by_receiver.items():
        file_sn = max((p.sender_name for p in ps if p.sender_name is not None), default=None)
        rname = max((p.receiver_name for p in ps if p.receiver_name is not None), default=None)
        cname = (customer or {}).get("name")
        sn = cname if cname is not None else file_sn
        sk = name_key(sn, pack) if sn is not None else ""
        rk = name_key(rname, pack) if rname is not None else ""
        parts = rk.split(" ", 1)
        two = len(parts) == 2 and parts[0] != ""
        out.append(
            Pair(
                receiver,
                len(ps),
                sum(p.low_value for p in ps) / len(ps),
                min(p.sender_country for p in ps),
                0 if sk == "" or rk == "" else int(_tokens_overlap(sk, rk)),
                int(rname is not None and female_re.search(rk) is not None),
                int(rname is not None and org_re.search(_folded_low(rname)) is not None),
                sk,
                parts[0] if two else "",
                parts[1] if two else "",
            )
        )
    eligible = [p for p in out if p.related == 0 and p.org == 0 and p.family != ""]
    for a in eligible:
        for b in eligible:
            if b.receiver_id == a.receiver_id:
                continue
            families = _tokens_overlap(a.family, b.family)
            if a.given != b.given and families:
                a.household = 1
            swapped = _tokens_overlap(a.family, b.given) and _tokens_overlap(b.family, a.given)
            if (a.given == b.given and families) or swapped:
                a.alias = 1
    return out


def payroll_pattern(a: Row) -> float:
    """``context.payroll_pattern_sql`` on a ``customer_activity`` row."""
    per_pair = (
        a["corridor_payments"] * 30.0 / max(a["active_days"], 30.0)
        / max(a["corridor_beneficiaries"], 1)
    )  # fmt: skip
    return (
        ramp(a["corridor_beneficiaries"], *ctx.PAYROLL_BENEFICIARIES)
        * ramp(a["run_share"], *ctx.PAYROLL_RUN_SHARE)
        * ramp(a["office_share"], *ctx.PAYROLL_OFFICE_SHARE)
        * (1.0 - ramp(per_pair, *ctx.PAYROLL_PAIR_RATE))
        * (0.5 + 0.5 * ramp(a["round_share"], *ctx.PAYROLL_ROUND_SHARE))
    )


def _activity(pays: list[Payment], pairs: list[Pair], window: float) -> dict[str, Any]:
    """``customer_activity`` of a sender with corridor payments. Each column is read
    once into a list (``map`` over the payments, no Python frame a payment): the sums
    over generators were a quarter of a payment's first stage. The same additions in
    the same order as before."""
    n = len(pays)
    seq = _sequence(pays, window)
    fx = list(map(_FX_RATE, pays))
    amount = list(map(_AMOUNT, pays))
    amount_ref = list(map(_AMOUNT_REF, pays))
    ts = list(map(_TS, pays))
    cover = sum(map(_COVER, pays))
    median_amount = _median(amount)
    if min(fx) == max(fx):
        median_ref = None if median_amount is None else median_amount * fx[0]
    else:
        median_ref = _median(amount_ref)
    total_n = sum(r.n for r in pairs)
    a: dict[str, Any] = {
        "corridor_payments": n,
        "corridor_beneficiaries": len(pairs),
        "unrelated_beneficiaries": sum(1 for r in pairs if r.related == 0),
        "female_beneficiaries": sum(1 for r in pairs if r.related == 0 and r.female == 1),
        "related_share": sum(r.n * r.related for r in pairs) / total_n,
        "household_share": sum(r.n * r.household for r in pairs) / total_n,
        "household_members": sum(1 for r in pairs if r.household == 1),
        "alias_share": sum(r.n * r.alias for r in pairs) / total_n,
        "corridor_total_ref": sum(amount_ref),
        "corridor_median_ref": median_ref,
        "corridor_max_ref": max(amount_ref),
        "low_value_share": sum(map(_LOW_VALUE, pays)) / n,
        "night_share": sum(map(_NIGHT, pays)) / n,
        "unnamed_share": sum(p.channel_w for p in pays if _blank(p.receiver_name)) / n,
        "cover_word_payments": cover,
        "cover_word_share": cover / n,
        "amount_trend": seq["amount_trend"],
        "gap_trend": seq["gap_trend"],
        "gap_cv": seq["gap_cv"],
        "office_share": sum(map(_OFFICE, pays)) / n,
        "round_share": sum(map(_WHOLE, pays)) / n,
        "run_share": seq["run_payments"] / float(n),
        "active_days": (pays[-1].ts_s - pays[0].ts_s) / DAY,
        "channel_risk": sum(map(_CHANNEL_W, pays)) / n,
        "first_amounts": seq["first_amounts"],
        "last_amounts": seq["last_amounts"],
        "median_amount": median_amount,
        "corridor_total": sum([round(x * 100) for x in amount]) / 100,
        "currency": min(map(_CURRENCY, pays)),
        "countries": min(map(_RECEIVER_COUNTRY, pays)),
        "main_channel": min(map(_CHANNEL, pays)),
        "first_seen": min(ts),
        "last_seen": max(ts),
        "first_s": seq["first_s"],
        "last_s": seq["last_s"],
    }
    a["payroll_pattern"] = payroll_pattern(a)
    a["union_s"] = seq["union_s"]
    return a


_FX_RATE = attrgetter("fx_rate")
_AMOUNT = attrgetter("amount")
_AMOUNT_REF = attrgetter("amount_ref")
_TS = attrgetter("ts")
_COVER = attrgetter("cover")
_LOW_VALUE = attrgetter("low_value")
_NIGHT = attrgetter("night")
_OFFICE = attrgetter("office")
_WHOLE = attrgetter("whole")
_CHANNEL_W = attrgetter("channel_w")
_CURRENCY = attrgetter("currency")
_RECEIVER_COUNTRY = attrgetter("receiver_country")
_CHANNEL = attrgetter("channel")


def _cover(pays: list[Payment], word_spec: Mapping[str, float]) -> dict[str, Any]:
    """``sender_cover`` against the pinned word specificity."""
    counts: dict[str | None, int] = defaultdict(int)
    for p in pays:
        if p.cover == 1:
            counts[p.cover_word] += 1
    if not counts:
        return {"cover_specific_payments": 0.0, "top_cover_word": None, "top_cover_word_spec": 0.0}

    def spec(w: str | None) -> float:
        return word_spec.get(w, 0.0) if w is not None else 1.0

    ranked = sorted(
        counts.items(), key=lambda kv: (kv[0] is None, -spec(kv[0]), -kv[1], kv[0] or "")
    )
    top = ranked[0][0]
    return {
        "cover_specific_payments": sum(n * spec(w) for w, n in counts.items()),
        "top_cover_word": top,
        "top_cover_word_spec": spec(top),
    }


def _purchases(
    spending: Spending, pays: list[Payment], a: Row, c: FirstStageContext
) -> dict[str, Any]:
    """``related_purchases``, ``purchase_baseline`` and ``corridor_card_spend``."""
    window = c.pack.related_purchase_days * DAY
    times = [p.ts_s for p in pays]  # sorted
    flagged = []
    stamps: dict[str, datetime] = {}
    for txn_id, ts_s, us, kinds in spending.flagged(c.pack):
        i = bisect.bisect_left(times, ts_s - window)
        near = i < len(times) and times[i] <= ts_s + window
        for kind in kinds:
            flagged.append((txn_id, kind, near))
            if near:
                stamps[txn_id] = _EPOCH + timedelta(microseconds=us)
    card_spend = spending.corridor_spend
    related = {(t, k) for t, k, near in flagged if near}
    per_kind = {
        kind: len({t for t, k in related if k == kind}) for kind in ("vpn", "webcam", "flight")
    }
    out: dict[str, Any] = {
        "vpn_purchases": per_kind["vpn"],
        "webcam_purchases": per_kind["webcam"],
        "corridor_flights": per_kind["flight"],
        "corridor_card_spend": card_spend,
        "related_purchases_expected": 0.0,
        "related_purchase_excess": 0.0,
        # one row per purchase and kind, as related_purchases has (evidence)
        "_related": tuple(sorted((t, stamps[t]) for t, _ in related)),
    }
    if related:
        near_ids = {t for t, _ in related}

        def weight(k: str) -> int:
            return FLIGHT_WEIGHT if k == "flight" else 1

        near_w = sum(weight(k) for t, k, _ in flagged if t in near_ids)
        all_w = sum(weight(k) for _, k, _ in flagged)
        d0, d1 = c.period
        share = min(1.0, max(0.0, (
            a["union_s"] - max(0.0, d0 - (a["first_s"] - window))
            - max(0.0, a["last_s"] + window - d1)) / max(d1 - d0, 1.0)))  # fmt: skip
        out["related_purchases_expected"] = all_w * share
        out["related_purchase_excess"] = near_w - all_w * share
    return out


def _offender(sender_id: str, c: FirstStageContext) -> dict[str, int]:
    cust = c.customers.get(sender_id)
    if cust is None:
        return {
            "known_offender": 0,
            "linked_offender_account": 0,
            "sender_male": 0,
            "birth_year": -1,
        }
    key = name_key(cust["name"], c.pack) if cust.get("name") is not None else ""
    by = cust.get("birth_year")
    linked = 0
    if key and by is not None:
        linked = int(bool(c.offenders.get((key, int(by)), frozenset()) - {sender_id}))
    return {
        "known_offender": int(bool(cust.get("known_offender"))),
        "linked_offender_account": linked,
        "sender_male": int(cust.get("gender") == "M"),
        "birth_year": -1 if by is None else int(by),
    }


RANK_TOLERANCE = 1e-9


def _peer_ranks(f: dict[str, Any], c: FirstStageContext) -> dict[str, Any]:
    values = [
        f["night_share"],
        f["unrelated_beneficiaries"],
        f["cover_specific_share"],
        f["low_value_share"] * f["unrelated_share"],
        f["irregular_rate"],
    ]
    key = (f["countries"], f["currency"], f["main_channel"])
    size = c.peer_sizes.get(key, 0)
    if size >= ctx.PEER_MIN_GROUP:
        columns, denom = c.peers.groups[key], max(size - 1, 1)
    else:
        columns, denom = c.peers.everyone, max(c.peers_total - 1, 1)
    out: dict[str, Any] = {"peer_group_size": size}
    for i, v in enumerate(values):
        # The pinned values came from SQL, whose float sums and products may differ from
        # these in the last bits: a customer's own pinned value (it is one of the peers)
        # must not count as below it, so values within RANK_TOLERANCE count as equal.
        x = None if v is None else float(v) - RANK_TOLERANCE * max(1.0, abs(float(v)))
        below = bisect.bisect_left(columns[i], x) if x is not None else 0
        out[f"peer_rank_{i}"] = min(1.0, below / float(denom))
    out["peer_anomaly"] = sum(out[f"peer_rank_{i}"] for i in range(len(values))) / float(
        len(values)
    )
    return out


@dataclass(frozen=True)
class FirstStage:
    """A customer's first stage: its ``customer_base_scores`` row (None when the scan
    does not score it) and what the network reads of it (its pairs and payroll
    pattern; None without corridor payments)."""

    sender_id: str
    row: dict[str, Any] | None
    pairs: tuple[Pair, ...]
    payroll_pattern: float | None
    payments: tuple[Payment, ...] = ()
    # (txn_id, ts) of its listed purchases near a corridor payment (evidence)
    related_purchases: tuple[tuple[str, datetime], ...] = ()

    @property
    def base_score(self) -> float | None:
        return None if self.row is None else float(self.row["base_score"])


def first_stage(
    sender_id: str, rows: Sequence[Row], c: FirstStageContext, *, relevant: bool = False
) -> FirstStage:
    """The first stage of ``sender_id`` from its relevant rows (public schema, as
    dicts, ``timestamp`` a datetime with a time zone; rows of other senders and rows
    that are not relevant are ignored, unless ``relevant``: the caller gives only the
    sender's relevant rows)."""
    pack = c.pack
    own = (
        list(rows)
        if relevant
        else [r for r in rows if r["sender_id"] == sender_id and is_relevant(r, pack)]
    )
    pays = _payments(own, c.customers.get(sender_id), pack, c.payments)
    spending = Spending()
    for r in own:
        spending.add(r, pack)
    return stage_of(sender_id, pays, spending, c)


def stage_of(
    sender_id: str, pays: list[Payment], spending: Spending, c: FirstStageContext
) -> FirstStage:
    """The first stage of ``sender_id`` from its corridor payments in time order
    (:func:`payment_order`) and its spending rows."""
    pack = c.pack
    customer = c.customers.get(sender_id)
    if not pays:
        return FirstStage(sender_id, None, (), None)
    pairs = pairs_of(pays, customer, pack)
    a = _activity(pays, pairs, pack.related_purchase_days * DAY)
    off = _offender(sender_id, c)
    if a["corridor_payments"] < pack.min_corridor_payments and not (
        off["known_offender"] + off["linked_offender_account"] > 0
    ):
        return FirstStage(sender_id, None, tuple(pairs), a["payroll_pattern"], tuple(pays))
    f = dict(a)
    del f["union_s"]
    f["sender_id"] = sender_id
    f["unrelated_share"] = 1.0 - a["related_share"]
    f["unrelated_families"] = a["unrelated_beneficiaries"] - (
        a["household_members"] - min(a["household_members"], 1)
    ) * (1.0 - ramp(a["run_share"], *ctx.SPLIT_RUNS))
    rate = a["corridor_payments"] * 30.0 / max(a["active_days"], 30.0)
    f["payments_per_30d"] = rate
    f["irregular_rate"] = rate * (1.0 - a["payroll_pattern"]) * ramp(a["gap_cv"], 0.3, 0.7)
    cover = _cover(pays, c.word_spec)
    f["cover_specific_share"] = cover["cover_specific_payments"] / a["corridor_payments"]
    f["top_cover_word"] = cover["top_cover_word"]
    f["top_cover_word_spec"] = cover["top_cover_word_spec"]
    f.update(_purchases(spending, pays, a, c))
    related = f.pop("_related")
    f["known_offender"] = off["known_offender"]
    f["linked_offender_account"] = off["linked_offender_account"]
    f["sender_male"] = off["sender_male"]
    by = off["birth_year"]
    f["sender_age"] = 0 if by < 0 else a["last_seen"].year - by
    f.update(_peer_ranks(f, c))
    strengths, base = local_score(pack, f)
    f.update(strengths)
    f["base_score"] = base
    return FirstStage(sender_id, f, tuple(pairs), a["payroll_pattern"], tuple(pays), related)
