"""Steps many tests share: pay on the sandbox page, run the jobs a worker would, pay many at the same moment,
find a free port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coop.core.db import unit_of_work
from coop.core.jobs import Job, JobStatus
from coop.core.settings import get_settings
from coop.payments.providers.sandbox import SandboxProvider
from coop.payments.service import receive_notification


def free_port() -> int:
    """A local port nothing listens on (for servers a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pay(client, payment_id: str, outcome: str = "paid") -> None:
    """Press a button on the sandbox checkout page."""
    response = client.post(f"/sandbox/checkout/{payment_id}", data={"outcome": outcome}, follow_redirects=False)
    assert response.status_code == 303, response.text


def run_queued(session: Session, handlers: dict[str, Callable[..., None]]) -> None:
    """Run the queued jobs of these names in the test's transaction, including those they queue, as a worker would."""
    while True:
        queued = session.exec(select(Job).where(Job.status == JobStatus.QUEUED,
                                                col(Job.name).in_(list(handlers)))).all()
        if not queued:
            return
        for job in queued:
            handlers[job.name](session, **job.args)
            job.status = JobStatus.DONE
            session.add(job)
        session.flush()


def notify_paid_at_once(engine: Engine, references: Sequence[str]) -> list[str | Exception | None]:
    """The sandbox reports each payment paid, all at the same moment (one thread and transaction each)."""
    barrier = threading.Barrier(len(references))
    outcomes: list[str | Exception | None] = [None] * len(references)

    def webhook(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            with unit_of_work(engine) as session:
                provider = SandboxProvider(session, get_settings().public_url)
                outcomes[index] = receive_notification(session, provider=provider,
                                                       provider_reference=references[index], raw="paid")
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=webhook, args=(i,)) for i in range(len(references))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a payment hung (deadlock?)"
    return outcomes
