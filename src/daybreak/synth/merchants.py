"""Card merchants: merchant category codes with spending shapes, and fictional merchants.

MCC weights and amounts (in AUD, scaled per profile) are round figures for everyday retail
spending. VPN/software (5734, 5817, 4816) and streaming (4899) are ordinary purchases
for many customers, so related-purchase signals only matter near corridor payments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daybreak.synth import clock
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, Ledger, batch


@dataclass(frozen=True)
class Mcc:
    code: int
    weight: float  # share of everyday card transactions
    median: float  # AUD
    sigma: float  # log-normal spread
    hours: str  # day | evening | online
    names: tuple[str, ...]
    online: bool = False


MCCS: tuple[Mcc, ...] = (
    Mcc(5411, 0.19, 55, 0.8, "day", ("Fresh Market", "Value Grocer", "Corner Foods", "FoodHall")),
    Mcc(5499, 0.06, 12, 0.6, "day", ("Quick Stop", "Deli & Co", "Night Owl Convenience")),
    Mcc(5812, 0.08, 48, 0.6, "evening", ("Harbour Bistro", "The Olive Table", "Spice Route")),
    Mcc(5814, 0.09, 15, 0.5, "evening", ("Burger Barn", "Noodle Box", "Pizza Corner")),
    Mcc(5541, 0.07, 62, 0.4, "day", ("Fuel Point", "Road Star Petrol", "Express Fuel")),
    Mcc(5912, 0.04, 26, 0.6, "day", ("Care Pharmacy", "Chemist Plus", "HealthFirst Pharmacy")),
    Mcc(5311, 0.03, 70, 0.8, "day", ("Grand Department Store", "City Emporium")),
    Mcc(5310, 0.03, 35, 0.7, "day", ("Bargain Hub", "Discount World")),
    Mcc(5691, 0.03, 80, 0.7, "day", ("Style Street", "Urban Threads")),
    Mcc(5999, 0.04, 40, 0.9, "day", ("General Store", "Gift & Home", "Variety Mart")),
    Mcc(4121, 0.04, 25, 0.5, "evening", ("Ride Now", "City Cabs")),
    Mcc(4111, 0.04, 5, 0.4, "day", ("Metro Transit", "Transport Card Top-up")),
    Mcc(5817, 0.04, 12, 0.8, "online", ("App Market", "GameVault", "eBook Store"), True),
    Mcc(5734, 0.006, 30, 0.7, "online", ("SoftHouse", "CloudSuite Software"), True),
    Mcc(4816, 0.012, 60, 0.3, "online", ("NetConnect Broadband", "HostSpace"), True),
    Mcc(4899, 0.02, 18, 0.3, "online", ("StreamFlix", "SoundWave Music", "TV Plus"), True),
    Mcc(4814, 0.02, 45, 0.4, "day", ("Telco Mobile", "Prepaid Connect")),
    Mcc(5732, 0.01, 200, 1.0, "day", ("Tech World", "Gadget Hub")),
    Mcc(5942, 0.01, 30, 0.5, "day", ("Page Turner Books",)),
    Mcc(7832, 0.01, 25, 0.4, "evening", ("Cinema City", "Starlight Cinemas")),
    Mcc(5977, 0.01, 35, 0.6, "day", ("Beauty Bar",)),
    Mcc(8099, 0.01, 90, 0.7, "day", ("Family Medical Centre", "City Physio")),
    Mcc(5921, 0.02, 40, 0.6, "evening", ("Bottle Shop", "Cellar Door Liquor")),
    Mcc(5200, 0.02, 80, 0.9, "day", ("Home Hardware", "Build & Garden")),
    Mcc(5995, 0.01, 50, 0.7, "day", ("Pet Palace",)),
    Mcc(7230, 0.01, 40, 0.5, "day", ("Cut Above Barbers", "Salon Luxe")),
    Mcc(5641, 0.005, 45, 0.6, "day", ("Little Ones Kidswear",)),
    Mcc(5945, 0.006, 40, 0.7, "day", ("Toy Town", "Hobby Corner")),
    Mcc(7011, 0.003, 180, 0.6, "day", ("Comfort Inn City", "Seaside Hotel")),
    Mcc(8398, 0.002, 30, 0.5, "day", ("Red Shield Appeal", "Community Food Bank")),
)

# Purchases tied to offending in FINTRAC/industry notes, sold by these fictional vendors.
VPN_VENDORS = (("ShieldTunnel VPN", 4816), ("PrivaNet", 5734), ("GhostLine VPN", 5817))
STREAM_VENDORS = (("LiveCam Credits", 5817), ("StreamTokens", 4899), ("VidChat Pro", 5817))
AIRLINES = (
    ("Pacific Horizon Air", 3008),
    ("SkyBridge Airways", 3034),
    ("Southern Cross Airlines", 3099),
    ("Island Hopper Air", 3136),
    ("Sunrise Airlines", 3260),
    ("FlyAway Tickets", 4511),
)
ONLINE_ABROAD = ("US", "IE", "NL", "SG")
VENDOR_COUNTRIES = ("PA", "VG", "CH", "SE", "SG", "US")

# Trip spending abroad (MCC, weight, median AUD).
TRIP_MCCS = (
    (7011, 0.15, 160.0),
    (5812, 0.3, 35.0),
    (5814, 0.15, 12.0),
    (5411, 0.15, 25.0),
    (4121, 0.15, 15.0),
    (5999, 0.1, 30.0),
)


@dataclass
class MerchantPool:
    """Merchant receivers per MCC: ``codes[offset[k] : offset[k] + count[k]]``."""

    codes: I32
    names: I32  # receiver_name codes in Ledger.names
    offset: I32
    count: I32


def build_domestic(rng: np.random.Generator, ledger: Ledger, home: str, total: int) -> MerchantPool:
    weights = np.array([m.weight for m in MCCS])
    counts = np.maximum(2, np.round(weights / weights.sum() * total)).astype(np.int32)
    codes: list[int] = []
    names: list[int] = []
    offsets: list[int] = []
    for m, cnt in zip(MCCS, counts, strict=True):
        offsets.append(len(codes))
        abroad = rng.random(int(cnt)) < (0.5 if m.online else 0.0)
        where = rng.integers(0, len(ONLINE_ABROAD), int(cnt))
        for k in range(int(cnt)):
            country = ONLINE_ABROAD[where[k]] if abroad[k] else home
            rid = f"mid:{m.code}{len(codes):06d}"
            name = f"{m.names[k % len(m.names)]} {k // len(m.names) + 1:03d}"
            codes.append(ledger.receivers.add(rid, country, "merchant"))
            names.append(ledger.names.code(name))
    return MerchantPool(
        np.array(codes, dtype=np.int32),
        np.array(names, dtype=np.int32),
        np.array(offsets, dtype=np.int32),
        counts,
    )


def hour_profile(kind: str) -> np.ndarray:
    return {
        "day": clock.HOURS_DAY,
        "evening": clock.HOURS_EVENING,
        "online": clock.HOURS_ONLINE,
    }[kind]


def vendor_purchases(ctx: Ctx, rng: np.random.Generator, cust: I64, when: I64, vendor: I64) -> None:
    """Card purchases from the VPN (index < len(VPN_VENDORS)) and streaming-credit
    vendors. VPN renewals get an online hour on their day; credits keep their time.
    Payers and ordinary customers buy from the same vendors."""
    led, w = ctx.ledger, ctx.window
    vendors = VPN_VENDORS + STREAM_VENDORS
    is_vpn = vendor < len(VPN_VENDORS)
    midnight = when - (when - w.start_us) % clock.US_PER_DAY
    when = np.where(is_vpn, clock.at_hours(rng, midnight, clock.HOURS_ONLINE), when)
    codes = np.array(
        [
            led.receivers.add(
                f"mid:{mcc}{900000 + k:06d}",
                VENDOR_COUNTRIES[k % len(VENDOR_COUNTRIES)],
                "merchant",
            )
            for k, (_, mcc) in enumerate(vendors)
        ],
        dtype=np.int32,
    )
    names = np.array([led.names.code(nm) for nm, _ in vendors], dtype=np.int32)
    amount = np.where(is_vpn, 12.99, lognormal(rng, 30, 0.6, len(vendor)))
    led.add(
        batch(
            cust,
            when,
            codes[vendor],
            ctx.money(amount),
            CHANNEL["card"],
            rname=names[vendor],
            mcc=np.array([m for _, m in vendors], dtype=np.int16)[vendor],
        )
    )
