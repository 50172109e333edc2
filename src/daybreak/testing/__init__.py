"""Test kits for plug-ins, shipped so a plug-in's own repository can run them.

    from daybreak.testing import check_detector, check_exporter

Each kit asserts the contract every consumer relies on (plain ``assert``: any test
runner reports the failure); Daybreak's own detectors and exporters pass the same kits.
No test framework is imported.
"""

from daybreak.testing.detectors import check_detector, check_detector_info
from daybreak.testing.exporters import check_exporter, check_exporter_info

__all__ = ["check_detector", "check_detector_info", "check_exporter", "check_exporter_info"]
