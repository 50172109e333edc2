"""Compiled pipelines declare what each step reads, and the declarations are checked."""

from __future__ import annotations

import re

import pytest

from daybreak.detectors.dialect import DIALECTS
from daybreak.detectors.pipeline import Pipeline
from daybreak.payments.compiler import RELEVANT, compile_evidence, compile_scan
from daybreak.payments.config import load_pack

# Tables a step names after FROM or JOIN (sub-queries start with a parenthesis).
TABLE_READ = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)")
# Names a step defines for itself (WITH name AS (...)): read, but not inputs.
CTE_DEFINED = re.compile(r"(?:\bWITH|,)\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)


def tables_read(sql: str) -> set[str]:
    return set(TABLE_READ.findall(sql)) - set(CTE_DEFINED.findall(sql))


def test_a_step_reading_an_unknown_table_is_refused_naming_it() -> None:
    p = Pipeline(("numbers",))
    p.add("doubled", "SELECT x * 2 AS y FROM numbers", inputs=["numbers"])
    with pytest.raises(ValueError, match=r"step 'total' reads 'doubles'"):
        p.add("total", "SELECT sum(y) FROM doubles", inputs=["doubles"])
    with pytest.raises(ValueError, match="defined twice"):
        p.add("doubled", "SELECT 1", inputs=[])


def test_given_leaves_out_the_provided_steps_and_reads_their_tables_as_inputs() -> None:
    p = Pipeline(("raw", "lookup"))
    p.add("filtered", "SELECT * FROM raw WHERE x > 0", inputs=["raw"])
    p.add("joined", "SELECT * FROM filtered JOIN lookup USING (x)", inputs=["filtered", "lookup"])
    rest = p.given(["filtered"])
    assert rest.names() == ["joined"]
    assert rest.inputs == ("lookup", "filtered")  # 'raw' is no longer read
    with pytest.raises(ValueError, match="no step named 'missing'"):
        p.given(["missing"])


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_compiled_step_declares_exactly_the_tables_its_sql_reads(dialect: str) -> None:
    d = DIALECTS[dialect]
    for pipeline in (compile_scan(load_pack(), d), compile_evidence(d)):
        for step in pipeline.steps:
            assert tables_read(step.sql) == set(step.inputs), step.name


def test_only_the_relevant_row_filter_reads_the_raw_transactions() -> None:
    """The in-place engine selects the step it runs itself by this declaration."""
    pipeline = compile_scan(load_pack(), DIALECTS["duckdb"])
    assert [s.name for s in pipeline.reading("transactions")] == [RELEVANT]
    rest = pipeline.given([RELEVANT])
    assert "transactions" not in rest.inputs
    assert rest.names()[-1] == "beneficiary_scores"
    assert "customer_scores" in rest.names()
