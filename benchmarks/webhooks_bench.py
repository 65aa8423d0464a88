"""Webhook ingestion: signed Stripe `checkout.session.completed` events, each fulfilling an open pledge payment.

Open Stripe payments (and their pledges) are made beforehand by copying one made by the
app; wrk delivers one signed event per payment to `kracht serve` (Lua: benchmarks/lua/
webhook.lua). The baseline is pgbench running the SQL statements one delivery sent
(recorded in this process), each run on a fresh payment of its own from a pool table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from http_load import kracht_server, pgbench, process_settings, wrk
from sql_capture import Pool, capture, pgbench_script
from sqlalchemy.engine import Engine

API_KEY = "sk_test_51KrachtBenchOnly00000000000000"
WEBHOOK_SECRET = "whsec_kracht_bench_only_000000000000"  # noqa: S105  (a local server of its own)
STRIPE_ENV = {"KRACHT_STRIPE_API_KEY": API_KEY, "KRACHT_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
POOL_TABLE, POOL_COUNTER = "bench_webhook_pool", "bench_webhook_pool_n"


def _columns(connection: psycopg.Connection[Any], table: str) -> list[str]:
    """A table's columns in order."""
    return [row[0] for row in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,))]


def make_open_payments(dsn: str, template_pledge: str, *, count: int, tag: str) -> list[str]:
    """`count` open Stripe pledge payments like the template (its pledge pending), references cs_<tag>_<n>."""
    with psycopg.connect(dsn) as connection:
        connection.execute("CREATE TEMP TABLE made (n bigint, pledge_id uuid, payment_id uuid) ON COMMIT DROP")
        connection.execute("INSERT INTO made SELECT n, gen_random_uuid(), gen_random_uuid() "
                           "FROM generate_series(1, %s) n", (count,))
        pledge_values = {"id": "made.pledge_id", "payment_id": "made.payment_id", "status": "'pending'",
                         "paid_at": "NULL"}
        payment_values = {"id": "made.payment_id", "purpose_id": "made.pledge_id", "provider": "'stripe'",
                          "reference": f"'B{tag}' || lpad(made.n::text, 8, '0')",
                          "provider_reference": f"'cs_{tag}_' || made.n", "status": "'open'", "paid_at": "NULL",
                          "checkout_url": "NULL", "method": "NULL"}
        for table, values, key in (("pledge", pledge_values, "t.id = %(pledge)s"),
                                   ("payment", payment_values, "t.purpose_id = %(pledge)s")):
            columns = _columns(connection, table)
            chosen = ", ".join(values.get(column, f"t.{column}") for column in columns)
            connection.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM made, {table} t "
                               f"WHERE {key}", {"pledge": template_pledge})
        made = connection.execute("SELECT 'cs_' || %s || '_' || n FROM made ORDER BY n", (tag,)).fetchall()
    return [reference for (reference,) in made]


def signed(reference: str) -> tuple[str, str]:
    """A `checkout.session.completed` event for the session `reference`, and its Stripe-Signature."""
    now = int(time.time())
    body = json.dumps({
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "checkout.session.completed",
        "api_version": "2026-10-28.endive", "created": now, "livemode": False,
        "data": {"object": {"id": reference, "object": "checkout.session", "mode": "payment", "status": "complete",
                            "payment_status": "paid", "amount_total": 2500, "currency": "eur",
                            "payment_intent": f"pi_{reference[3:]}", "subscription": None}}},
        separators=(",", ":"))
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
    return body, f"t={now},v1={digest}"


def _events_file(path: Path, references: list[str]) -> Path:
    """One `signature<TAB>body` line per event, signed now (Stripe's tolerance is five minutes)."""
    with path.open("w") as handle:
        for reference in references:
            body, signature = signed(reference)
            handle.write(f"{signature}\t{body}\n")
    return path


def record_webhook_sql(engine: Engine, dsn: str, reference: str) -> tuple[str, dict[str, Any]]:
    """One delivery through the app in this process, recorded; and the recorded values of the payment it found."""
    from coop.app import create_app

    client = TestClient(create_app())
    body, signature = signed(reference)
    with capture(engine) as recorded:
        answer = client.post("/api/v1/webhooks/stripe", content=body,
                             headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    if answer.status_code != 200 or answer.json().get("outcome") in ("duplicate", "no matching payment"):
        raise RuntimeError(f"the webhook was not applied: {answer.status_code} {answer.text[:300]}")
    with psycopg.connect(dsn) as connection:
        payment, pledge = connection.execute("SELECT id, purpose_id FROM payment WHERE provider_reference = %s",
                                             (reference,)).fetchone() or (None, None)
    event_id = json.loads(body)["id"]
    script_values = {"payment": payment, "pledge": pledge, "reference": reference, "event": event_id,
                     "intent": f"pi_{reference[3:]}"}
    return pgbench_script(recorded, dsn, pool=Pool.of(POOL_TABLE, POOL_COUNTER, script_values)), script_values


def _fill_pool(dsn: str, references: list[str]) -> None:
    """The pool pgbench takes its payments from, in order."""
    with psycopg.connect(dsn) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {POOL_TABLE}")
        connection.execute(f"DROP SEQUENCE IF EXISTS {POOL_COUNTER}")
        connection.execute(f"CREATE SEQUENCE {POOL_COUNTER}")
        connection.execute(f"CREATE TABLE {POOL_TABLE} (n bigint PRIMARY KEY, payment uuid, pledge uuid, "
                           "reference text, event text, intent text)")
        connection.execute(
            f"INSERT INTO {POOL_TABLE} SELECT row_number() OVER (ORDER BY r.ord), p.id, p.purpose_id, "
            "p.provider_reference, 'evt_' || md5(random()::text), 'pi_' || substr(p.provider_reference, 4) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS r(reference, ord) "
            "JOIN payment p ON p.provider_reference = r.reference", (references,))


def template_pledge(project_id: str) -> str:
    """An open sandbox pledge of EUR 25 made by the app: what the bench's Stripe payments are copied from."""
    from coop.app import create_app

    made = TestClient(create_app()).post(f"/api/v1/projects/{project_id}/pledges", json={
        "kind": "money", "name": "Bench Bewoner", "email": "bench@example.org", "amount_cents": 2500,
        "provider": "sandbox"})
    made.raise_for_status()
    return str(made.json()["pledge"]["id"])


def bench_webhooks(engine: Engine, database_url: str, folder: Path, *, project_id: str, workers: int,
                   seconds: int, runs: int, connections: int = 16, per_run: int = 4_000,
                   pool: int = 20_000) -> dict[str, float]:
    """Signed events fulfilled per second over HTTP vs the same SQL in pgbench."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    template = template_pledge(project_id)
    first = make_open_payments(dsn, template, count=1, tag="rec")[0]
    script = folder / "webhook.sql"
    with process_settings(STRIPE_ENV):
        script.write_text(record_webhook_sql(engine, dsn, first)[0])
    loads = []
    with kracht_server(database_url, workers=workers, env=STRIPE_ENV) as base:
        for run in range(runs):
            events = _events_file(folder / "events.tsv", make_open_payments(dsn, template, count=per_run,
                                                                            tag=f"h{run}"))
            load = wrk(base, "webhook.lua", connections=connections, seconds=seconds,
                       env={"WRK_EVENTS": str(events)})
            if load["errors"] or load["refused"] or load["fulfilled"] >= per_run:
                raise RuntimeError(f"the webhook run had errors or ran out of events: {load}")
            loads.append(load)
    _fill_pool(dsn, make_open_payments(dsn, template, count=pool, tag="pg"))
    baseline = statistics.median(pgbench(database_url, script, clients=connections, seconds=seconds)
                                 for _ in range(runs))
    rate = statistics.median(load["fulfilled"] / load["seconds"] for load in loads)
    return {"webhook_per_s": round(rate, 1),
            "webhook_p99_ms": round(statistics.median(load["p99_ms"] for load in loads), 2),
            "webhook_baseline_per_s": round(baseline, 1), "webhook_ratio": round(rate / baseline, 3)}
