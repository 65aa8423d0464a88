"""Portable SQL pieces that reports (dashboards, exports) share: calendar buckets and date arithmetic.

SQLite and PostgreSQL spell date arithmetic differently; these constructs compile to each
dialect's own functions, so every query stays one SQL aggregate on both. Datetimes are
bucketed in UTC on both databases (SQLite knows no time zones); booking dates are dates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, String, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class month_key(FunctionElement[str]):
    """'YYYY-MM' of a date or datetime column."""

    type = String()
    name = "month_key"
    inherit_cache = True


class week_key(FunctionElement[str]):
    """'YYYY-MM-DD' of the Monday of the ISO week of a date or datetime column."""

    type = String()
    name = "week_key"
    inherit_cache = True


def _argument(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> tuple[str, bool]:
    """The compiled argument and whether it is a datetime with a time zone."""
    (argument,) = element.clauses
    column_type = getattr(argument.type, "impl", argument.type)
    aware = isinstance(column_type, DateTime) and bool(column_type.timezone)
    return compiler.process(argument, **kw), aware


@compiles(month_key, "sqlite")
def _month_sqlite(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m', {_argument(element, compiler, **kw)[0]})"


@compiles(month_key, "postgresql")
def _month_postgresql(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    sql, aware = _argument(element, compiler, **kw)
    return f"to_char({sql} AT TIME ZONE 'UTC', 'YYYY-MM')" if aware else f"to_char({sql}, 'YYYY-MM')"


@compiles(week_key, "sqlite")
def _week_sqlite(element: week_key, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves to the coming Sunday (or stays on one); six days back is that week's Monday.
    return f"date({_argument(element, compiler, **kw)[0]}, 'weekday 0', '-6 days')"


@compiles(week_key, "postgresql")
def _week_postgresql(element: week_key, compiler: SQLCompiler, **kw: Any) -> str:
    sql, aware = _argument(element, compiler, **kw)
    moment = f"{sql} AT TIME ZONE 'UTC'" if aware else f"{sql}::timestamp"
    return f"to_char(date_trunc('week', {moment}), 'YYYY-MM-DD')"


def earlier(first: Any, second: Any) -> ColumnElement[Any]:
    """The earlier of two dates, the second only when it is set (SQL's LEAST ignoring NULL, on both)."""
    return case((second.is_not(None) & (second < first), second), else_=first)
