"""One page of a long list on a case page (evidence records, sub-cases), chosen by a
query parameter: a case with 8,000 evidence rows draws 50 of them, not all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    rows: Sequence[T]
    number: int  # 1-based
    pages: int
    total: int
    size: int
    param: str  # the query parameter that picks the page

    @property
    def first(self) -> int:
        """1-based position of the page's first row (for an ``<ol start>``)."""
        return (self.number - 1) * self.size + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def list_page(items: Sequence[T], query: Mapping[str, str], param: str, size: int) -> ListPage[T]:
    """The page ``query[param]`` asks for, clamped to the pages there are (a bad or
    out-of-range number shows the nearest page rather than an error: links go stale
    when a case is rebuilt)."""
    pages = max(1, -(-len(items) // size))
    try:
        number = int(query.get(param, "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return ListPage(items[start : start + size], number, pages, len(items), size, param)
