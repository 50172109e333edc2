"""The synthetic world: a deterministic, realistic stand-in for a bank's payments, a
platform's reports and events, and media-hash sightings, with ground truth.

Use :func:`generate_world` to build one in memory and :func:`write_world` to write it in
the public file layout (see docs/synthetic-world.md).
"""

from daybreak.synth.names import share_family_name
from daybreak.synth.priors import CORRIDOR_SETS, REGION_FIELDS, SENDING_REGIONS, Band, Priors
from daybreak.synth.profiles import (
    PROFILES,
    Behaviour,
    Profile,
    UnknownProfileError,
    get_profile,
)
from daybreak.synth.vocab import LANGUAGES
from daybreak.synth.world import World, generate_world
from daybreak.synth.writer import write_world

__all__ = [
    "CORRIDOR_SETS",
    "LANGUAGES",
    "PROFILES",
    "REGION_FIELDS",
    "SENDING_REGIONS",
    "Band",
    "Behaviour",
    "Priors",
    "Profile",
    "UnknownProfileError",
    "World",
    "generate_world",
    "get_profile",
    "share_family_name",
    "write_world",
]
