"""The scan's own name folding, taken from the compiled pipeline: the ``folded_names``
step folds each distinct sender and beneficiary name (``pair_names.sn``/``rn``) into its
key ``k``. Tests run that step over names of their choosing on each engine and compare
the keys with the Python reference (:func:`daybreak.payments.names.name_tokens`)."""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.payments.compiler import compile_scan
from daybreak.payments.config import load_pack

FOLDED_NAMES = "folded_names"


def folded_names_sql(d: Dialect) -> str:
    """SQL of the scan's ``folded_names`` step for the default pack: reads ``pair_names``
    (``sn``, ``rn``) and ``customers`` (``name``, ``known_offender``); yields ``nm``, ``k``."""
    steps = compile_scan(load_pack(), d).steps
    step = next(s for s in steps if s.name == FOLDED_NAMES)
    assert set(step.inputs) == {"pair_names", "customers"}, step.inputs
    return step.sql
