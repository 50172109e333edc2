"""A detector's compiled SQL: ordered named steps (splink's pipeline of
``{sql, output_table_name}`` steps).

Detectors build these and never run them; an engine (``daybreak.engines``) executes the
steps in order, each as a view, or as a table when ``materialize`` is set because later
steps read it several times. Every step declares what it reads: the pipeline's inputs
(tables the engine registers first) or earlier steps. A step reading anything else is
refused when it is added, so a renamed or missing table is a compile error that names
the step, not an engine error halfway through a scan. An engine that produces some
steps' tables itself (the in-place Parquet reader) selects them by what they read and
runs the rest (``given``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    name: str  # the table or view the step defines
    sql: str
    inputs: tuple[str, ...] = ()  # what the SQL reads: pipeline inputs or earlier steps
    materialize: bool = False


@dataclass
class Pipeline:
    """Ordered SQL steps; each may read the pipeline's ``inputs`` and earlier steps."""

    inputs: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, sql: str, *, inputs: Sequence[str], materialize: bool = False) -> None:
        self.append(Step(name, sql.strip(), tuple(inputs), materialize))

    def append(self, step: Step) -> None:
        known = {*self.inputs, *self.names()}
        if step.name in known:
            raise ValueError(f"step '{step.name}' is defined twice (or shadows an input)")
        unknown = [i for i in step.inputs if i not in known]
        if unknown:
            raise ValueError(
                f"step '{step.name}' reads {', '.join(map(repr, unknown))}: neither an input "
                f"of the pipeline ({', '.join(self.inputs) or 'none'}) nor an earlier step"
            )
        self.steps.append(step)

    def extend(self, steps: Iterable[Step]) -> None:
        for step in steps:
            self.append(step)

    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def reading(self, name: str) -> list[Step]:
        """The steps that read ``name`` (an input or a step)."""
        return [s for s in self.steps if name in s.inputs]

    def given(self, provided: Sequence[str]) -> Pipeline:
        """The rest of this pipeline for an engine that registers the tables of the
        steps ``provided`` itself: those steps are left out and become inputs, and
        inputs no remaining step reads are dropped."""
        missing = [n for n in provided if n not in self.names()]
        if missing:
            raise ValueError(f"no step named {', '.join(map(repr, missing))} to provide")
        rest = [s for s in self.steps if s.name not in provided]
        read = {i for s in rest for i in s.inputs}
        out = Pipeline(tuple(i for i in (*self.inputs, *provided) if i in read))
        out.extend(rest)
        return out
