"""Small worlds shared by the synthetic-world tests (2,000 customers, 3 months)."""

from __future__ import annotations

import polars as pl
import pytest

from daybreak.synth import World, generate_world

CUSTOMERS = 2000
MONTHS = 3
SEED = 11


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world(CUSTOMERS, MONTHS, SEED, "default")


@pytest.fixture(scope="session")
def bigger_world() -> World:
    """Enough payers (≈40) for per-case properties that are probabilistic per case."""
    return generate_world(6000, 2, 5, "default")


@pytest.fixture(scope="session")
def random_world() -> World:
    """A randomised world (parameters drawn from seed 21), a year long."""
    return generate_world(3000, 12, 21, randomize=True)


def with_local_hour(frame: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Add the sender's local hour, computed independently of the generator's clock."""
    zones = customers.select(pl.col("customer_id").alias("sender_id"), "timezone")
    joined = frame.join(zones, on="sender_id")
    parts = [
        joined.filter(pl.col("timezone") == tz).with_columns(
            local_hour=pl.col("timestamp").dt.convert_time_zone(tz).dt.hour(),
            local_date=pl.col("timestamp").dt.convert_time_zone(tz).dt.date(),
        )
        for tz in joined.get_column("timezone").unique().sort().to_list()
    ]
    return pl.concat(parts)


def beneficiary_scenarios(world: World) -> pl.DataFrame:
    return world.labels.filter(pl.col("subject_type") == "beneficiary").select(
        pl.col("subject_id").alias("receiver_id"), "scenario", "label"
    )


def abuse_payments(world: World) -> pl.DataFrame:
    """Corridor payments to facilitators (not the related card purchases)."""
    return world.transactions.join(beneficiary_scenarios(world), on="receiver_id").filter(
        pl.col("scenario") == "facilitator"
    )
