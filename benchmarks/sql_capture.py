"""The SQL one request flow sends, recorded and turned into a pgbench script: the baseline for the HTTP benchmarks.

`capture(engine, flow)` records every statement (with its parameters) and every
BEGIN/COMMIT that `flow()` makes through the app. `pgbench_script(...)` renders them
with their literal values, where the rows the flow created get fresh ids per run
(`gen_random_uuid()` into pgbench variables, also inside strings such as idempotency
keys and provider references) and the numbers the flow drew (journal entry numbers from
`number_series`, provisional entry numbers and payment references from their sequences) are taken from that
run's own UPDATE ... RETURNING or nextval(). So pgbench repeats the same statements, with the same locks, row for row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

# The number series (and sequences) a flow may draw from: the table and parameter of the insert or update that uses
# the number, and how it is written (`back`: how far the number is below the last of the block drawn, as recorded).
NUMBERED = {"payment_reference": ("payment", "reference", "('KR' || lpad(':{var}', 8, '0'))"),
            "payment_reference_seq": ("payment", "reference", "('KR' || lpad(':{var}', 8, '0'))"),
            "ledger_entry_provisional": ("ledger_entry", "number", "(-:{var})"),
            "ledger_entry_provisional_seq": ("ledger_entry", "number", "(-:{var})"),
            "ledger_entry": ("ledger_entry", "final", "(:{var} - {back})")}
_INSERT = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)
_WRITE = re.compile(r"^\s*(?:INSERT INTO|UPDATE) (\w+)", re.IGNORECASE)
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_SERIES = re.compile(r"^\s*UPDATE number_series .* RETURNING number_series\.last_value\s*$", re.IGNORECASE | re.DOTALL)
_SEQUENCE = re.compile(r"^\s*SELECT nextval\('(\w+)'\)\s*$", re.IGNORECASE)


@dataclass
class Recorded:
    """What one flow sent: statements with their parameter sets, and transaction boundaries."""

    steps: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    def add(self, statement: str, params: Any) -> None:
        """One statement; executemany's parameter list becomes one statement per set, as psycopg sends it."""
        sets = params if isinstance(params, list | tuple) else [params or {}]
        self.steps.append((statement, [dict(p) for p in sets]))


@contextmanager
def capture(engine: Engine) -> Iterator[Recorded]:
    """Record what goes through `engine` inside the block."""
    recorded = Recorded()

    def on_execute(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        recorded.add(statement, params)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", on_execute),
        ("begin", lambda _conn: recorded.steps.append(("BEGIN", []))),
        ("commit", lambda _conn: recorded.steps.append(("COMMIT", []))),
        ("rollback", lambda _conn: recorded.steps.append(("ROLLBACK", []))),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield recorded
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def _created_ids(recorded: Recorded) -> list[uuid.UUID]:
    """The primary keys of the rows the flow inserted (they must be new in every pgbench run)."""
    found: list[uuid.UUID] = []
    for statement, sets in recorded.steps:
        if _INSERT.match(statement):
            found += [p["id"] for p in sets if isinstance(p.get("id"), uuid.UUID) and p["id"] not in found]
    return found


def _spliced(literal: str, values: dict[str, str]) -> str:
    """A string literal with each recorded value in it spliced in from its pgbench variable.

    pgbench does not substitute `:name` after another colon (`payment::u1` reads as a cast), so the
    literal is cut around each value: `('payment:' || ':u1' || ':paid')`, parenthesised for any cast after it.
    """
    spliced = literal
    for value, variable in values.items():
        spliced = spliced.replace(value, f"' || ':{variable}' || '")
    return literal if spliced == literal else f"({spliced})"


def _uuid_forms(ids: dict[uuid.UUID, str]) -> dict[str, str]:
    """Each id as the SQL shows it (dashed in strings, hex as a bound UUID) -> its variable (`name`, `namehex`)."""
    forms: dict[str, str] = {}
    for made, variable in ids.items():
        forms[str(made)] = variable
        forms[made.hex] = f"{variable}hex"
    return forms


def pgbench_script(recorded: Recorded, dsn: str, *, pool: Pool | None = None) -> str:
    """The recorded flow as a pgbench script (one run = one flow), with its own ids and numbers.

    With a `pool`, the rows the flow found already there (a payment a webhook is about) are a
    fresh row of the pool in every run, read by one indexed SELECT first.
    """
    if not any(sets for _, sets in recorded.steps):
        raise ValueError("nothing was recorded: the flow ran on another engine than the one captured")
    created = {made: f"u{i}" for i, made in enumerate(_created_ids(recorded))}
    lines = ["SELECT " + ", ".join(f"{v}, replace({v}::text, '-', '') AS {v}hex" for v in created.values())
             + " FROM (SELECT " + ", ".join(f"gen_random_uuid() AS {v}" for v in created.values()) + ") ids \\gset"]
    values = _uuid_forms(created)
    if pool is not None:
        lines.append(pool.prelude)
        values |= pool.values
    numbered: dict[tuple[str, str], str] = {}  # (table, column) -> the expression of the number drawn last
    draws = 0
    with psycopg.connect(dsn) as connection:
        cursor = psycopg.ClientCursor(connection)
        for statement, sets in recorded.steps:
            if not sets:
                lines.append(statement + ";")
                continue
            for params in sets:
                sql = " ".join(statement.split())
                table = (_WRITE.match(sql) or [None, None])[1]
                drawn = _SEQUENCE.match(sql)
                if _SERIES.match(sql) or drawn:
                    series = drawn[1] if drawn else str(params["name_1"])
                    if series not in NUMBERED:
                        raise ValueError(f"the flow draws from number series {series!r}; add it to NUMBERED")
                    var = f"n{draws}"
                    draws += 1
                    target_table, column, written = NUMBERED[series]
                    numbered[(target_table, column)] = written.replace("{var}", var)
                    lines.append(cursor.mogrify(sql, params) + f" AS {var} \\gset")
                    continue
                marked = dict(params)
                expressions = {}
                for (target_table, column), written in numbered.items():
                    if table == target_table and column in marked:
                        back = max(int(p[column]) for p in sets) - int(marked[column]) if "{back}" in written else 0
                        expressions[column] = written.format(back=back)
                        marked[column] = f"@@{column}@@"
                rendered = cursor.mogrify(sql, marked)
                for column, expression in expressions.items():
                    rendered = rendered.replace(f"'@@{column}@@'", expression)
                lines.append(_LITERAL.sub(lambda found: _spliced(found[0], values), rendered) + ";")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Pool:
    """Rows made beforehand, one per pgbench run: the SELECT that takes the next, and the recorded values
    (as the SQL shows them) that become its columns."""

    prelude: str
    values: dict[str, str]

    @classmethod
    def of(cls, table: str, counter: str, recorded: dict[str, Any]) -> Pool:
        """Take row `nextval(counter)` of `table`, whose columns are named as the keys of `recorded`; a UUID
        value also gets a `<column>hex` variable."""
        columns = []
        values: dict[str, str] = {}
        for column, value in recorded.items():
            columns.append(column)
            if isinstance(value, uuid.UUID):
                columns.append(f"replace({column}::text, '-', '') AS {column}hex")
                values |= _uuid_forms({value: column})
            else:
                values[str(value)] = column
        prelude = f"SELECT {', '.join(columns)} FROM {table} WHERE n = (SELECT nextval('{counter}')) \\gset"
        return cls(prelude, values)
