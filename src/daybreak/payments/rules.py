"""User-writable rule expressions: parsed, checked and compiled to an engine's SQL.

A rule's ``strength`` is a small SQL expression over the documented feature columns
(``docs/detectors/payments.md``). It is parsed with sqlglot, refused if it names an
unknown column or uses anything beyond arithmetic, comparisons, CASE and a short list of
functions (no subqueries, no table access), then written out for the engine's dialect.
``ramp(x, lo, hi)`` is a convenience: 0 at or below ``lo``, 1 at or above ``hi``.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import sqlglot
import sqlglot.dialects.duckdb  # rules are written in this dialect: load it with the module
from sqlglot import exp
from sqlglot.errors import ParseError

AUTHORING_DIALECT = "duckdb"
_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Case,
    exp.If,
    exp.Between,
    exp.Greatest,
    exp.Least,
    exp.Abs,
    exp.Ln,
    exp.Exp,
    exp.Sqrt,
    exp.Pow,
    exp.Coalesce,
    exp.Anonymous,
    exp.Cast,
    exp.DataType,
)
_ALLOWED_ANONYMOUS = {"ramp"}


class RuleError(ValueError):
    """A rule expression that cannot be used (the message says why)."""


def parse_rule(text: str, features: Collection[str]) -> exp.Expression:
    """Parse and check a rule; ``ramp`` is expanded. Raises RuleError."""
    try:
        tree = sqlglot.parse_one(text, read=AUTHORING_DIALECT)
    except ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc)
        raise RuleError(f"not a valid SQL expression: {first}") from exc
    for node in tree.walk():
        if not isinstance(node, _ALLOWED_NODES):
            raise RuleError(
                f"'{node.sql()}' is not allowed in a rule: use arithmetic, comparisons, "
                "CASE, least/greatest/abs/ln/exp/sqrt/power/coalesce and ramp()"
            )
        if isinstance(node, exp.Anonymous) and node.name.lower() not in _ALLOWED_ANONYMOUS:
            raise RuleError(f"unknown function '{node.name}'")
        if isinstance(node, exp.Column):
            if node.table:
                raise RuleError(f"'{node.sql()}': refer to features by name only")
            if node.name not in features:
                raise RuleError(_unknown_feature(node.name, features))
    assert isinstance(tree, exp.Expression)
    return _expand_ramp(tree)


def compile_rule(tree: exp.Expression, dialect: str) -> str:
    """The expression as SQL for ``dialect`` (a sqlglot dialect name), clipped to [0, 1]."""
    return _compiled(tree.copy(), dialect)


def _compiled(tree: exp.Expression, dialect: str) -> str:
    """``compile_rule`` on a tree no one else holds (it becomes part of the output)."""
    value = exp.Cast(this=exp.Coalesce(this=_guarded(tree), expressions=[_number(0)]), to=_double())
    return _clip(value).sql(dialect=dialect)


def _guarded(tree: exp.Expression) -> exp.Expression:
    """The rule with every operation that has no value (a division or modulo by zero,
    the log of a number <= 0, the root of a negative number, a negative number to a
    fractional power, zero to a negative power) made NULL, as Spark makes a division by
    zero. DuckDB would give infinities and NaN instead, and NaN passes the clip as 1:
    full strength from no evidence. The real-time path's Python evaluation
    (``payments.realtime_features``) gives the same NULLs."""
    zero = _number(0)
    # deepest first, so a guard's copied operands carry the guards below them
    for node in reversed(list(tree.find_all(exp.Div, exp.Mod, exp.Ln, exp.Sqrt, exp.Pow))):
        if isinstance(node, (exp.Div, exp.Mod)):
            node.set("expression", exp.Nullif(this=node.expression, expression=zero.copy()))
            continue
        x = exp.paren(node.this.copy(), copy=False)
        if isinstance(node, exp.Ln):
            defined: exp.Expression = exp.GT(this=x, expression=zero.copy())
        elif isinstance(node, exp.Sqrt):
            defined = exp.GTE(this=x, expression=zero.copy())
        else:
            y = exp.paren(node.expression.copy(), copy=False)
            fractional = exp.NEQ(this=y, expression=exp.Floor(this=y.copy()))
            defined = exp.not_(
                exp.or_(
                    exp.and_(exp.LT(this=x, expression=zero.copy()), fractional, copy=False),
                    exp.and_(
                        exp.EQ(this=x.copy(), expression=zero.copy()),
                        exp.LT(this=y.copy(), expression=zero.copy()),
                        copy=False,
                    ),
                    copy=False,
                ),
                copy=False,
            )
        guarded = exp.Case(ifs=[exp.If(this=defined, true=node.copy())])
        if node.parent is None:  # the rule is this one operation
            return guarded
        node.replace(guarded)
    return tree


def _number(n: int) -> exp.Expression:
    return exp.Literal.number(n)


def _double() -> exp.DataType:
    return exp.DataType(this=exp.DataType.Type.DOUBLE)  # build("double") parses the text


def _clip(value: exp.Expression) -> exp.Expression:
    """least(1, greatest(0, value)), built from nodes: sqlglot's ``exp.func`` builder
    copies its arguments at every level, which made compiling a pack take ~0.1 s."""
    inner = exp.Greatest(this=_number(0), expressions=[value], ignore_nulls=True)
    return exp.Least(this=_number(1), expressions=[inner], ignore_nulls=True)


def rule_sql(text: str, features: Collection[str], dialect: str) -> str:
    """``compile_rule(parse_rule(text, features), dialect)``, remembered: sqlglot's tree
    copies make each compilation cost milliseconds, and a scan compiles every rule for
    each subject and stage."""
    return _rule_sql(text, frozenset(features), dialect)


@lru_cache(maxsize=1024)
def _rule_sql(text: str, features: frozenset[str], dialect: str) -> str:
    return _compiled(parse_rule(text, features), dialect)


def _expand_ramp(tree: exp.Expression) -> exp.Expression:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "ramp":
            args = node.expressions
            if len(args) != 3:
                raise RuleError("ramp() takes three arguments: ramp(value, low, high)")
            x, lo, hi = (exp.paren(a, copy=False) for a in args)  # the ramp() node is dropped
            scaled = exp.Div(
                this=exp.paren(exp.Sub(this=exp.Cast(this=x, to=_double()),
                                       expression=lo), copy=False),
                expression=exp.paren(exp.Sub(this=hi, expression=lo.copy()), copy=False),
            )  # fmt: skip
            return _clip(scaled)
        return node

    return tree.transform(rewrite, copy=False)  # the tree was just parsed: no one shares it


def _unknown_feature(name: str, features: Collection[str]) -> str:
    import difflib

    hint = difflib.get_close_matches(name, list(features), n=1)
    tail = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown feature '{name}'{tail} (features: see docs/detectors/payments.md)"
