"""The SQL vocabulary of each engine, kept apart from running SQL (splink's pattern).

Feature definitions are written once against these methods; an engine in
``daybreak.engines`` only executes the resulting text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect(ABC):
    """Base: ANSI-ish SQL shared by DuckDB and Spark. Subclasses must fill the gaps (the
    abstract methods): a dialect missing one cannot be made at all, rather than failing
    mid-compile."""

    name: str  # sqlglot dialect name
    # Keeps each left row with at least one match, once, without building the pairs.
    semi_join: str = "SEMI JOIN"

    def string(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def strings(self, values: Sequence[str]) -> str:
        """Literals separated by commas, for ``x IN (...)``."""
        return ", ".join(self.string(v) for v in values)

    @abstractmethod
    def string_array(self, values: Sequence[str]) -> str: ...

    def values(
        self, rows: Sequence[Sequence[str | float | int]], columns: Sequence[str], alias: str
    ) -> str:
        """An inline table usable in FROM: ``(VALUES ...) AS alias(cols)``; ``rows`` must
        not be empty."""

        def lit(v: str | float | int) -> str:
            if isinstance(v, str):
                return self.string(v)
            return f"CAST({float(v)!r} AS DOUBLE)"

        body = ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)
        return f"(VALUES {body}) AS {alias}({', '.join(columns)})"

    @abstractmethod
    def local_hour(self, ts: str, tz: str) -> str: ...

    @abstractmethod
    def epoch_seconds(self, ts: str) -> str: ...

    @abstractmethod
    def utc_offset_at(self, seconds: str, tz: str) -> str:
        """The UTC offset of the zone ``tz`` (seconds, DOUBLE) at the instant ``seconds``
        after 1970-01-01 UTC."""

    @abstractmethod
    def integers_between(self, lo: str, hi: str) -> str:
        """A select-list expression giving one row per integer from ``lo`` to ``hi``
        (both included; no row when either is NULL)."""

    @abstractmethod
    def regexp_matches(self, text: str, pattern: str) -> str: ...

    @abstractmethod
    def regexp_extract(self, text: str, pattern: str) -> str: ...

    @abstractmethod
    def regexp_replace_all(self, text: str, pattern: str, replacement: str) -> str: ...

    @abstractmethod
    def split_spaces(self, text: str) -> str: ...

    @abstractmethod
    def arrays_overlap(self, a: str, b: str) -> str: ...

    @abstractmethod
    def median(self, x: str) -> str: ...

    @abstractmethod
    def hash64(self, *values: str) -> str:
        """A 64-bit hash of the values (an integer; NULLs hash to a constant, so callers
        guard them). Equal inputs hash equal within one engine; the numbers differ
        between engines, so a hash is a join or grouping key, never an output."""

    def translate(self, text: str, src: str, dst: str) -> str:
        return f"translate({text}, {self.string(src)}, {self.string(dst)})"


@dataclass(frozen=True)
class DuckDBDialect(Dialect):
    name: str = "duckdb"

    def string_array(self, values: Sequence[str]) -> str:
        return "[" + ", ".join(self.string(v) for v in values) + "]::VARCHAR[]"

    def local_hour(self, ts: str, tz: str) -> str:
        return f"hour(timezone({tz}, {ts}))"

    def epoch_seconds(self, ts: str) -> str:
        return f"epoch({ts})"

    def utc_offset_at(self, seconds: str, tz: str) -> str:
        at = f"to_timestamp({seconds})"
        return f"(epoch(timezone({tz}, {at})) - epoch({at}))"

    def integers_between(self, lo: str, hi: str) -> str:
        return f"unnest(range(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT) + 1))"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {self.string(pattern)})"

    def regexp_extract(self, text: str, pattern: str) -> str:
        return f"nullif(regexp_extract({text}, {self.string(pattern)}, 1), '')"

    def regexp_replace_all(self, text: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({text}, {self.string(pattern)}, {self.string(replacement)}, 'g')"

    def split_spaces(self, text: str) -> str:
        return f"string_split({text}, ' ')"

    def arrays_overlap(self, a: str, b: str) -> str:
        return f"coalesce(list_has_any({a}, {b}), false)"

    def median(self, x: str) -> str:
        return f"median({x})"

    def hash64(self, *values: str) -> str:
        return f"hash({', '.join(values)})"


@dataclass(frozen=True)
class SparkDialect(Dialect):
    name: str = "spark"
    semi_join: str = "LEFT SEMI JOIN"

    def string(self, value: str) -> str:
        # Spark string literals process backslash escapes.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def string_array(self, values: Sequence[str]) -> str:
        return "array(" + ", ".join(self.string(v) for v in values) + ")"

    def local_hour(self, ts: str, tz: str) -> str:
        return f"hour(from_utc_timestamp({ts}, {tz}))"

    def epoch_seconds(self, ts: str) -> str:
        return f"(unix_micros({ts}) / 1000000.0)"

    def utc_offset_at(self, seconds: str, tz: str) -> str:
        at = f"timestamp_micros(CAST(({seconds}) * 1000000 AS BIGINT))"
        return f"((unix_micros(from_utc_timestamp({at}, {tz})) - unix_micros({at})) / 1000000.0)"

    def integers_between(self, lo: str, hi: str) -> str:
        return f"explode(sequence(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT)))"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"({text} RLIKE {self.string(pattern)})"

    def regexp_extract(self, text: str, pattern: str) -> str:
        return f"nullif(regexp_extract({text}, {self.string(pattern)}, 1), '')"

    def regexp_replace_all(self, text: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({text}, {self.string(pattern)}, {self.string(replacement)})"

    def split_spaces(self, text: str) -> str:
        return f"split({text}, ' ')"

    def arrays_overlap(self, a: str, b: str) -> str:
        return f"coalesce(arrays_overlap({a}, {b}), false)"

    def median(self, x: str) -> str:
        return f"percentile({x}, 0.5)"

    def hash64(self, *values: str) -> str:
        return f"xxhash64({', '.join(values)})"


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "spark": SparkDialect()}
