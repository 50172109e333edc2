"""User-writable rule expressions: parsed, checked and compiled to an engine's SQL.

A rule's ``strength`` is a small SQL expression over the documented feature columns
(``docs/detectors/payments.md``). It is parsed with sqlglot, refused if it names an
unknown column or uses anything beyond arithmetic, comparisons, CASE and a short list of
functions (no subqueries, no table access), then written out for the engine's dialect.
``ramp(x, lo, hi)`` is a convenience: 0 at or below ``lo``, 1 at or above ``hi``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlglot
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
    clipped = exp.func(
        "least",
        exp.Literal.number(1),
        exp.func(
            "greatest",
            exp.Literal.number(0),
            exp.cast(exp.func("coalesce", tree.copy(), exp.Literal.number(0)), "double"),
        ),
    )
    return clipped.sql(dialect=dialect)


def _expand_ramp(tree: exp.Expression) -> exp.Expression:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "ramp":
            args = node.expressions
            if len(args) != 3:
                raise RuleError("ramp() takes three arguments: ramp(value, low, high)")
            x, lo, hi = (exp.paren(a.copy()) for a in args)
            scaled = exp.Div(
                this=exp.paren(exp.Sub(this=exp.cast(x, "double"), expression=lo)),
                expression=exp.paren(exp.Sub(this=hi, expression=lo.copy())),
            )
            ramp: Any = exp.func(
                "least", exp.Literal.number(1), exp.func("greatest", exp.Literal.number(0), scaled)
            )
            assert isinstance(ramp, exp.Expression)
            return ramp
        return node

    return tree.transform(rewrite)


def _unknown_feature(name: str, features: Collection[str]) -> str:
    import difflib

    hint = difflib.get_close_matches(name, list(features), n=1)
    tail = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown feature '{name}'{tail} (features: see docs/detectors/payments.md)"
