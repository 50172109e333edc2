"""Daybreak: signals -> entities -> alerts -> cases -> reports.

The package is layered so that dependencies point inward:

* ``daybreak.model``    domain records, identifiers, alerts, cases (imports nothing of ours)
* ``daybreak.schema``   the public file schemas and their validation
* ``daybreak.synth``    the synthetic world used for demos, tests and benchmarks
* ``daybreak.payments`` / ``daybreak.tipline`` / ``daybreak.media``  signal families
* ``daybreak.graph``    entity resolution, graph analytics, cases from alerts
* ``daybreak.exporters`` goAML, CyberTipline, STIX 2.1, FollowTheMoney
* ``daybreak.engines``  DuckDB and Spark execution of compiled SQL
* ``daybreak.store``    SQLAlchemy case store
* faces: ``daybreak.cli``, ``daybreak.api``, ``daybreak.console`` (no core module imports these)
"""

__version__ = "0.1.0"
