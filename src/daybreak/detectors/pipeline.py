"""A detector's compiled SQL: ordered named steps (splink's CTE pipeline pattern).

Detectors build these and never run them; an engine (``daybreak.engines``) executes the
steps in order, each as a view, or as a table when ``materialize`` is set because later
steps read it several times.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    name: str
    sql: str
    materialize: bool = False


@dataclass
class Pipeline:
    """Ordered SQL steps; each may read the inputs and earlier steps by name."""

    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, sql: str, *, materialize: bool = False) -> None:
        self.steps.append(Step(name, sql.strip(), materialize))

    def names(self) -> list[str]:
        return [s.name for s in self.steps]
