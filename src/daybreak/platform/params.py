"""Checks every platform detector's parameters share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def check_score_and_weights(
    alert_score: float, weights: Mapping[str, float], expected: Iterable[str]
) -> None:
    """``alert_score`` in [0, 1] and every expected weight present, else a ValueError
    naming what is wrong."""
    if not 0.0 <= alert_score <= 1.0:
        raise ValueError(f"alert_score must be in [0, 1], got {alert_score}")
    missing = set(expected) - set(weights)
    if missing:
        raise ValueError(f"weights lack {sorted(missing)}")


__all__ = ["check_score_and_weights"]
