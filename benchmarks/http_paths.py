"""The HTTP hot paths under load, each against its baseline measured in the same run.

- pledge path: wrk pledges EUR 25 and presses "paid" on the sandbox checkout, at 16 and
  32 connections, against `kracht serve --workers N`; baseline: pgbench running the
  SQL statements that one pledge and its payment sent (recorded, see sql_capture.py).
  Beside it, the stack's ceiling: the same statements replayed behind FastAPI with no
  domain code (replay_app.py), against the same pgbench figure.
- public project listing and detail: requests/s against a bare FastAPI endpoint on the
  same uvicorn settings, as production serves them (the one-second copy of coop.core.microcache on);
  plus, once, the listing without that copy.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from http_load import benchmark_app, kracht_server, pgbench, wrk
from sql_capture import capture, pgbench_script
from sqlalchemy import text
from sqlalchemy.engine import Engine

PLEDGE = {"kind": "money", "name": "Bench Bewoner", "email": "bench@example.org", "amount_cents": 2500,
          "provider": "sandbox"}


def live_project(engine: Engine) -> str:
    """The live project with the most pledges (a campaign everyone pledges to at once)."""
    with engine.connect() as connection:
        found = connection.execute(text(
            "SELECT p.id FROM project p LEFT JOIN pledge g ON g.project_id = p.id WHERE p.status = 'live' "
            "GROUP BY p.id ORDER BY count(g.id) DESC, p.id LIMIT 1")).scalar()
    if found is None:
        raise RuntimeError("the bench database has no live project")
    return str(found)


def record_pledge_sql(engine: Engine, project_id: str, dsn: str) -> str:
    """One pledge and its "paid" through the app in this process, recorded as a pgbench script."""
    from coop.app import create_app

    client = TestClient(create_app())
    with capture(engine) as recorded:
        made = client.post(f"/api/v1/projects/{project_id}/pledges", json=PLEDGE)
        made.raise_for_status()
        paid = client.post(f"/sandbox/checkout/{made.json()['payment']['id']}", data={"outcome": "paid"},
                           follow_redirects=False)
        if paid.status_code != 303:
            raise RuntimeError(f"the sandbox did not take the payment: {paid.status_code} {paid.text[:300]}")
    return pgbench_script(recorded, dsn)


def _medians(runs: list[dict[str, Any]], *keys: str) -> dict[str, float]:
    """The median of each key over the runs."""
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def _repeat(times: int, work: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """`work()` `times` times, checking that no run had errors."""
    runs = [work() for _ in range(times)]
    for run in runs:
        if run.get("errors") or run.get("refused"):
            raise RuntimeError(f"a load run had errors: {run}")
    return runs


def bench_pledge_path(engine: Engine, database_url: str, folder: Path, *, workers: int, seconds: int,
                      runs: int, connections: tuple[int, ...] = (16, 32)) -> dict[str, float]:
    """Pledges paid per second over HTTP vs the same SQL in pgbench, at each number of connections."""
    project = live_project(engine)
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    script = folder / "pledge_path.sql"
    script.write_text(record_pledge_sql(engine, project, dsn))
    results: dict[str, float] = {}
    with kracht_server(database_url, workers=workers) as base:
        http = {clients: _pledge_load(base, project, clients=clients, seconds=seconds, runs=runs)
                for clients in connections}
    replay_env = {"REPLAY_SCRIPT": str(script), "KRACHT_DATABASE_URL": database_url}
    with benchmark_app("replay_app:app", workers=workers, env=replay_env) as base:
        replayed = {clients: _pledge_load(base, project, clients=clients, seconds=seconds, runs=runs)
                    for clients in connections}
    for clients in connections:
        baseline = statistics.median(pgbench(database_url, script, clients=clients, seconds=seconds)
                                     for _ in range(runs))
        suffix = "" if clients == connections[0] else f"_{clients}"
        results |= {f"pledge_per_s_{clients}": round(http[clients]["pledges_per_s"], 1),
                    f"pledge_p50_ms_{clients}": round(http[clients]["p50_ms"], 2),
                    f"pledge_p99_ms_{clients}": round(http[clients]["p99_ms"], 2),
                    f"pledge_baseline_per_s_{clients}": round(baseline, 1),
                    f"pledge_ratio{suffix}": round(http[clients]["pledges_per_s"] / baseline, 3),
                    f"pledge_replay_per_s_{clients}": round(replayed[clients]["pledges_per_s"], 1),
                    f"pledge_replay_ratio{suffix}": round(replayed[clients]["pledges_per_s"] / baseline, 3)}
    return results


def _pledge_load(base: str, project: str, *, clients: int, seconds: int, runs: int) -> dict[str, float]:
    """Pledges paid per second and the p50/p99 latency of the pledge script against `base`, medians of `runs`,
    after one second that is not counted (each worker's first requests fill its statement caches)."""
    def pledging(length: int) -> dict[str, Any]:
        return wrk(base, "pledge.lua", connections=clients, seconds=length, env={"WRK_PROJECT": project})

    pledging(1)
    loads = _repeat(runs, lambda: pledging(seconds))
    for load in loads:
        load["pledges_per_s"] = load["pledges_paid"] / load["seconds"]
    return _medians(loads, "pledges_per_s", "p50_ms", "p99_ms")


def bench_public_reads(engine: Engine, database_url: str, *, workers: int, seconds: int, runs: int,
                       connections: int = 16) -> dict[str, float]:
    """The public project listing and a project's page in the API, vs a bare FastAPI endpoint."""
    project = live_project(engine)
    paths = {"listing": "/api/v1/projects?status=live", "detail": f"/api/v1/projects/{project}"}
    with benchmark_app("bare_app:app", workers=workers) as bare:
        baseline = _medians(_repeat(runs, lambda: wrk(bare, "get.lua", connections=connections, seconds=seconds,
                                                      env={"WRK_PATH": "/bare"})), "requests_per_s")
    results = {"bare_per_s": round(baseline["requests_per_s"], 1)}
    with kracht_server(database_url, workers=workers) as base:
        for name, path in paths.items():
            got = _medians(_repeat(runs, lambda path=path: wrk(  # type: ignore[misc]
                base, "get.lua", connections=connections, seconds=seconds, env={"WRK_PATH": path})),
                "requests_per_s", "p50_ms", "p99_ms")
            results |= {f"{name}_per_s": round(got["requests_per_s"], 1), f"{name}_p99_ms": round(got["p99_ms"], 2),
                        f"{name}_ratio": round(got["requests_per_s"] / baseline["requests_per_s"], 3)}
    with kracht_server(database_url, workers=workers, env={"KRACHT_PUBLIC_CACHE_SECONDS": "0"}) as base:
        uncached = wrk(base, "get.lua", connections=connections, seconds=seconds, env={"WRK_PATH": paths["listing"]})
    results["listing_uncached_per_s"] = round(uncached["requests_per_s"], 1)  # one run: what each copy costs
    return results
