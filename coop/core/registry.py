"""A named, ordered registry: how one part of Kracht lets others plug in without importing them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Items by name, in the order they were added; a name is taken once (adding the same item again is a no-op)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        """Add `item` under `name`; a different item under a taken name is a mistake."""
        existing = self._items.get(name)
        if existing is not None and existing is not item:
            raise ValueError(f"a {self.what} called {name!r} already exists")
        self._items[name] = item

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
