"""Detectors over platform metadata (never content): who streamed or called whom, when.

:mod:`daybreak.platform.coincidence` finds live streams and calls that coincide with
payments from the viewer's bank customer to an account in the streamer's country, again
and again. Like the payments typologies, it compiles to SQL for a dialect and never runs
it; :mod:`daybreak.engines.stream_payment` runs it on DuckDB or Spark.
"""
