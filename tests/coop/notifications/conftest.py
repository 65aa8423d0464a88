"""A real SMTP server on localhost (aiosmtpd), and notifications committed for the job runner."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session as DbSession
from sqlmodel import select

from coop.core.db import unit_of_work
from coop.core.jobs import Job
from coop.core.settings import Settings, get_settings
from coop.notifications.models import Notification
from coop.notifications.service import notify
from tests.coop.notifications.support import sample

SMTP_USER = "kracht-mailer"
SMTP_PASSWORD = "pw-Zq81-never-shown"


def free_port() -> int:
    """A localhost port nobody listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """The aiosmtpd handler: keeps what arrived, refuses recipients at refused.example (550)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[str] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        """Accept SMTP_USER/SMTP_PASSWORD; refuse anything else with a reply that (badly) echoes the password."""
        login = cast(LoginPassword, auth_data)
        self.logins.append(login.login.decode())
        if login.login.decode() == SMTP_USER and login.password.decode() == SMTP_PASSWORD:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False,
                          message=f"535 5.7.8 Wrong password {login.password.decode()!r}")

    def messages(self) -> list[EmailMessage]:
        """What arrived, parsed as the recipient's mail program would."""
        return [cast(EmailMessage, message_from_bytes(cast(bytes, envelope.original_content),
                                                      policy=policy.default))
                for envelope in self.envelopes]


def text_of(message: EmailMessage) -> str:
    """The decoded body with the wire's CRLF line ends turned back into newlines."""
    return str(message.get_content()).replace("\r\n", "\n")


class SmtpServer:
    """Where the local SMTP server listens, and its mailbox."""

    def __init__(self, port: int, mailbox: Mailbox) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.mailbox = mailbox

    def settings(self, **overrides: Any) -> Settings:
        """Settings that send here (no STARTTLS unless overridden: the test server has no certificate)."""
        return Settings(**{"smtp_host": self.host, "smtp_port": self.port, "smtp_starttls": False,
                           "smtp_timeout_seconds": 5, **overrides})

    def env(self) -> dict[str, str]:
        """The same, as KRACHT_* variables for code that reads get_settings()."""
        return {"smtp_host": self.host, "smtp_port": str(self.port), "smtp_starttls": "false",
                "smtp_timeout_seconds": "5"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that accepts AUTH without TLS, stopped after the test."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def kracht_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`kracht_env(smtp_host=..., ...)`: KRACHT_* variables for this test, settings read anew."""

    def configure(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(f"KRACHT_{name.upper()}", value)
        get_settings.cache_clear()

    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


def _ids(engine: Engine, table: Any) -> set[uuid.UUID]:
    with engine.connect() as connection:
        return set(connection.execute(select(table.c.id)).scalars())


class Outbox:
    """Notifications committed to the test database (the job runner uses its own transactions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def notify(self, template: str = "welcome", *, recipient: str = "fatima@example.org",
               **kwargs: Any) -> uuid.UUID:
        """Queue a notification with the sample context of `template` and commit it."""
        context = kwargs.pop("context", sample(template))
        with unit_of_work(self.engine) as session:
            return notify(session, template=template, recipient=recipient, context=context, **kwargs).id

    def get(self, notification_id: uuid.UUID) -> Notification:
        with DbSession(self.engine) as session:
            notification = session.get(Notification, notification_id)
            assert notification is not None
            return notification

    def send_job(self, notification_id: uuid.UUID) -> Job:
        with DbSession(self.engine) as session:
            return session.exec(select(Job).where(Job.dedupe_key == f"notifications.send:{notification_id}")).one()


@pytest.fixture
def outbox(database: Engine) -> Iterator[Outbox]:
    """Committed notifications; afterwards every notification and job row this test created is deleted."""
    tables = (Notification.__table__, Job.__table__)
    before = {table: _ids(database, table) for table in tables}
    yield Outbox(database)
    created = {table: _ids(database, table) - before[table] for table in tables}
    with database.begin() as connection:
        for table, ids in created.items():
            if ids:
                connection.execute(delete(table).where(table.c.id.in_(ids)))
