"""Backing up the database to one file and restoring it into an empty database: SQLite's online backup API (a
consistent copy while the app runs), `pg_dump`/`pg_restore` in their custom format for PostgreSQL.

The PostgreSQL password goes to the tools through the environment (PGPASSWORD), never on a command line that
`ps` would show.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from coop.core.db import make_engine
from coop.core.errors import Conflict, InvalidInput


def _sqlite_path(url: URL) -> Path:
    """The file of a SQLite URL (an in-memory database cannot be backed up)."""
    if not url.database or url.database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has no file to back up", field="database_url")
    return Path(url.database)


def _pg(url: URL, tool: str) -> tuple[list[str], dict[str, str]]:
    """The connection options of a PostgreSQL tool, and an environment that carries the password."""
    if shutil.which(tool) is None:
        raise Conflict(f"{tool} is not installed (apt-get install postgresql-client)", field="database_url")
    options = [tool, "--no-owner", "--no-privileges"]
    for flag, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            options += [flag, str(value)]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return options, env


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run a tool; its own message (never the password) when it fails."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise Conflict(f"{command[0]} failed: {done.stderr.strip()[-500:]}", field="database_url")


def backup(database_url: str, out: Path) -> int:
    """Write a consistent copy of the database to `out`; its size in bytes."""
    url = make_url(database_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(_sqlite_path(url))) as source, closing(sqlite3.connect(out)) as target:
            source.backup(target)
    else:
        options, env = _pg(url, "pg_dump")
        _run([*options, "--format=custom", "--file", str(out), str(url.database)], env)
    return out.stat().st_size


def is_empty(database_url: str) -> bool:
    """No tables yet (a database a backup may be restored into)."""
    engine = make_engine(database_url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(database_url: str, source: Path) -> None:
    """Restore a backup into an empty database (a filled one is refused: restoring never merges)."""
    if not source.is_file():
        raise InvalidInput(f"no backup file at {source}", field="file")
    if not is_empty(database_url):
        raise Conflict("the database is not empty: restore into a new, empty database", field="database_url")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(source)) as backup_file, closing(sqlite3.connect(_sqlite_path(url))) as target:
            backup_file.backup(target)
    else:
        options, env = _pg(url, "pg_restore")
        _run([*options, "--exit-on-error", "--dbname", str(url.database), str(source)], env)
