"""The ceiling: a bare FastAPI JSON endpoint, served by the same uvicorn settings as the API."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Bare(BaseModel):
    """A small JSON body, validated on the way out as every API response is."""

    id: int
    title: str
    goal_cents: int


app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Ready."""
    return {"status": "ok"}


@app.get("/bare", response_model=Bare)
def bare() -> Bare:
    """The same answer every time: no database, no work."""
    return Bare(id=1, title="Buurtmoestuin", goal_cents=500_000)
