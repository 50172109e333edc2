"""Test kits for plug-ins, shipped so a plug-in's own repository can run them.

    from daybreak.testing import check_detector, check_exporter, check_source

Each kit asserts the contract every consumer relies on (plain ``assert``: any test
runner reports the failure); Daybreak's own detectors, exporters and sources pass the same kits.
No test framework is imported.
"""

from daybreak.testing.detectors import check_detector, check_detector_info
from daybreak.testing.exporters import check_exporter, check_exporter_info
from daybreak.testing.sources import check_source

__all__ = [
    "check_detector",
    "check_detector_info",
    "check_exporter",
    "check_exporter_info",
    "check_source",
]
