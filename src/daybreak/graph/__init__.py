"""Link analysis: one entity graph across every source, and cases built from it.

Entry points: :func:`build_world_graph` and :func:`build_cases` (``daybreak.graph.pipeline``).
"""

from daybreak.graph.pipeline import WorldGraph, build_cases, build_world_graph

__all__ = ["WorldGraph", "build_cases", "build_world_graph"]
