"""The pledge path's ceiling on this stack: the SQL of one pledge and its payment, replayed behind FastAPI.

The pledge benchmark's pgbench script (sql_capture.py) holds two transactions, the pledge and its
"paid", statement by statement. This app serves them at the API's two paths, on the same uvicorn
settings, through SQLAlchemy's engine and psycopg as the API does, and runs nothing else: no
validation, no ORM, no rules, no audit of its own. Its pledges/s over pgbench's is the most any
application on FastAPI and SQLAlchemy could reach with these statements (`pledge_replay_ratio`).

The checkout path carries one random id; every row id of the flow is derived from it, so the "paid"
transaction, served by any worker, writes the rows its pledge made. The script's path comes in
REPLAY_SCRIPT; the database is the API's own engine (KRACHT_DATABASE_URL, the same pool).
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from coop.core.db import get_engine

_IDS = re.compile(r"gen_random_uuid\(\) AS (u\d+)")
_DRAWN = re.compile(r"\s+AS (n\d+)\s*\\gset$")
_VARIABLE = re.compile(r"(?<!:):(\w+)")  # as pgbench reads `:name` (not after another colon: a cast)


def transactions(script: str) -> tuple[list[str], list[list[str]]]:
    """The script's id variables (its first line draws them) and its transactions, each a list of statements."""
    first, *rest = script.splitlines()
    found: list[list[str]] = []
    for line in rest:
        if line == "BEGIN;":
            found.append([])
        elif line != "COMMIT;" and line.strip():
            found[-1].append(line.removesuffix(";"))
    return _IDS.findall(first), found


def variables(seed: uuid.UUID, names: list[str]) -> dict[str, str]:
    """The flow's ids from its seed (each id also as hex, as the script splices them into strings)."""
    ids = {name: uuid.UUID(int=seed.int ^ (position + 1)) for position, name in enumerate(names)}
    return {**{name: str(made) for name, made in ids.items()}, **{f"{name}hex": made.hex for name, made in ids.items()}}


NAMES, (PLEDGE, PAID) = transactions(Path(os.environ["REPLAY_SCRIPT"]).read_text())
app = FastAPI()


def replay(statements: list[str], seed: uuid.UUID) -> None:
    """One transaction of the script with this flow's ids; numbers drawn (`AS nN \\gset`) feed later statements."""
    values = variables(seed, NAMES)
    with get_engine().begin() as connection:
        for statement in statements:
            drawn = _DRAWN.search(statement)
            sql = _VARIABLE.sub(lambda found: values.get(found[1], found[0]), statement)
            if drawn:
                sql = _DRAWN.sub(f" AS {drawn[1]}", sql)
            result = connection.exec_driver_sql(sql)
            if drawn:
                values[drawn[1]] = str(result.scalar_one())


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Ready."""
    return {"status": "ok"}


@app.post("/api/v1/projects/{project_id}/pledges", status_code=201)
def pledge(project_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """The pledge's transaction; the seed stands in for the payment's id that the checkout path carries."""
    seed = uuid.uuid4()
    replay(PLEDGE, seed)
    return {"payment": {"id": str(seed)}}


@app.post("/sandbox/checkout/{seed}")
def paid(seed: uuid.UUID) -> RedirectResponse:
    """The payment's transaction, for the pledge this seed made."""
    replay(PAID, seed)
    return RedirectResponse("/", status_code=303)
