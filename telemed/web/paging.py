"""Paging for searches that return one slice and a total (patients.queries.search_patients).

The object mimics the parts of Django's ``Page`` that the pagination partial reads, so the
same partial serves both these searches and plain ``Paginator`` pages.
"""

from __future__ import annotations

from dataclasses import dataclass


def page_number(raw: str | None) -> int:
    """A 1-based page number from the query string; anything odd is page 1, never an error."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return max(1, min(number, 100_000))


@dataclass(frozen=True)
class Window:
    number: int
    per_page: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.num_pages

    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1
