"""A one-second copy of the busiest anonymous reads, per process, dropped whenever this process commits a write.

A campaign launch sends everyone to the same project listing and page at once; each answer sums the
project's pledges. Within `seconds` a process answers anonymous GETs of those paths from the copy it made,
unless it has committed a write since (so a client of one process reads its own writes) or the Amsterdam
day has turned (days left). Writes by other processes show within `seconds`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date
from time import monotonic
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from coop.core.clock import today_amsterdam
from coop.core.http import ASGIApp, Message, Receive, Scope, Send

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "DROP", "ALTER", "WITH", "COPY")
_WROTE = "kracht_wrote"
_versions = itertools.count(1)  # next() is atomic: two commits at once never share a version
_version = 0


def data_version() -> int:
    """Changes whenever this process commits a write: a copy made under another version may be out of date."""
    return _version


def _bump() -> None:
    """Every copy made so far is out of date."""
    global _version
    _version = next(_versions)


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """A write (SELECT ... FOR UPDATE is none) outdates the copies now, for readers of this same transaction, and
    again at its commit, for copies made meanwhile from what was committed before."""
    if statement.lstrip()[:8].upper().startswith(WRITES):
        conn.info[_WROTE] = True
        _bump()


@event.listens_for(Engine, "commit")
def _bump_on_commit(conn: Any) -> None:
    """The write is visible to every reader now."""
    if conn.info.pop(_WROTE, False):
        _bump()


@event.listens_for(Engine, "rollback")
def _forget_on_rollback(conn: Any) -> None:
    """Nothing was written after all."""
    conn.info.pop(_WROTE, None)


@dataclass(frozen=True, slots=True)
class _Copy:
    """One kept answer and what it was made under."""

    version: int
    day: date
    made: float
    start: Message
    body: bytes


class PublicCache:
    """ASGI middleware: anonymous GETs of `paths` answered from a copy up to `seconds` old (with an Age header)."""

    def __init__(self, app: ASGIApp, *, paths: re.Pattern[str], seconds: float, max_copies: int = 256) -> None:
        self.app = app
        self.paths = paths
        self.seconds = seconds
        self.max_copies = max_copies
        self._copies: dict[tuple[str, bytes], _Copy] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        key = (str(scope["path"]), bytes(scope.get("query_string", b"")))
        version, day, now = data_version(), today_amsterdam(), monotonic()
        kept = self._copies.get(key)
        if kept is not None and kept.version == version and kept.day == day and now - kept.made < self.seconds:
            age = str(int(now - kept.made)).encode()
            await send({**kept.start, "headers": [*kept.start["headers"], (b"age", age)]})
            await send({"type": "http.response.body", "body": kept.body})
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def keeping_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False) and start.get("status") == 200:
                    self._keep(key, _Copy(version, day, now, {**start, "headers": list(start.get("headers", []))},
                                          b"".join(chunks)))
            await send(message)

        await self.app(scope, receive, keeping_send)

    def _cacheable(self, scope: Scope) -> bool:
        """Anonymous GETs of the listed paths, while the cache is on."""
        if self.seconds <= 0 or scope["type"] != "http" or scope["method"] != "GET":
            return False
        if not self.paths.fullmatch(str(scope["path"])):
            return False
        return not any(name == b"authorization" for name, _ in scope.get("headers") or [])

    def _keep(self, key: tuple[str, bytes], copy: _Copy) -> None:
        """Keep `copy`; past `max_copies` (many filter combinations), drop the ones out of date, else all."""
        if len(self._copies) >= self.max_copies and key not in self._copies:
            self._copies = {k: c for k, c in self._copies.items()
                            if c.version == copy.version and copy.made - c.made < self.seconds}
            if len(self._copies) >= self.max_copies:
                self._copies.clear()
        self._copies[key] = copy
