"""Detectors over platform metadata (never content): who streamed, called, friended or
paid whom and when, what the platform knows about each account, and the contact details
ads give.

:mod:`daybreak.platform.coincidence` (live stream - payment coincidence),
:mod:`daybreak.platform.grooming` (grooming contact patterns),
:mod:`daybreak.platform.sextortion` (financial sextortion: contacts with minors, then
payments to handles abroad) and :mod:`daybreak.platform.ads` (recruitment ads and fake
profiles). Like the payments typologies, each compiles to SQL for a dialect and never
runs it; :mod:`daybreak.engines` runs them on DuckDB or Spark.
"""
