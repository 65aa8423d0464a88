"""The `notifications.send` job, run by the real job runner in its own transactions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from coop.core.clock import utc_now
from coop.core.jobs import JobStatus, run_due
from coop.notifications.models import NotificationStatus
from tests.coop.notifications.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    Outbox,
    SmtpServer,
    free_port,
    text_of,
)


def test_the_job_delivers_a_queued_notification(
    outbox: Outbox, smtp_server: SmtpServer, kracht_env: Callable[..., None],
) -> None:
    kracht_env(**smtp_server.env())
    notification_id = outbox.notify("payment_received", recipient="fatima@example.org", member_id=None)

    ran = run_due(outbox.engine, max_attempts=3)

    job = outbox.send_job(notification_id)
    assert job.id in {run.id for run in ran}
    assert job.status is JobStatus.DONE and job.attempts == 1
    notification = outbox.get(notification_id)
    assert notification.status is NotificationStatus.SENT and notification.sent_at is not None
    [message] = smtp_server.mailbox.messages()
    assert message["To"] == "fatima@example.org"
    assert message["Subject"] == "Uw betaling van € 99,00 is ontvangen"
    assert "Kenmerk: KR-7F3A2C\n" in text_of(message)
    assert text_of(message) == notification.body

    run_due(outbox.engine, max_attempts=3)

    assert len(smtp_server.mailbox.envelopes) == 1


def test_the_same_dedupe_key_sends_once(
    outbox: Outbox, smtp_server: SmtpServer, kracht_env: Callable[..., None],
) -> None:
    kracht_env(**smtp_server.env())
    first = outbox.notify(dedupe_key="welcome:1042")
    second = outbox.notify(dedupe_key="welcome:1042")

    run_due(outbox.engine, max_attempts=3)

    assert first == second
    assert len(smtp_server.mailbox.envelopes) == 1


def test_without_smtp_the_job_holds_the_notification(outbox: Outbox, kracht_env: Callable[..., None]) -> None:
    kracht_env()
    notification_id = outbox.notify()

    run_due(outbox.engine, max_attempts=3)

    assert outbox.get(notification_id).status is NotificationStatus.HELD
    assert outbox.send_job(notification_id).status is JobStatus.DONE


def test_a_server_that_is_down_fails_the_job_which_is_retried_later(
    outbox: Outbox, kracht_env: Callable[..., None], caplog: pytest.LogCaptureFixture,
) -> None:
    kracht_env(smtp_host="127.0.0.1", smtp_port=str(free_port()), smtp_username=SMTP_USER,
               smtp_password=SMTP_PASSWORD, smtp_timeout_seconds="5")
    notification_id = outbox.notify()
    before = utc_now()

    run_due(outbox.engine, max_attempts=3)

    job = outbox.send_job(notification_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 1
    assert job.last_error is not None and "ConnectionRefusedError" in job.last_error
    assert job.run_after >= before + timedelta(seconds=30)
    notification = outbox.get(notification_id)
    assert notification.status is NotificationStatus.QUEUED and notification.sent_at is None
    assert SMTP_PASSWORD not in job.last_error and SMTP_PASSWORD not in caplog.text


def test_a_password_echoed_by_the_server_stays_out_of_the_job_and_the_log(
    outbox: Outbox, smtp_server: SmtpServer, kracht_env: Callable[..., None], caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = SMTP_PASSWORD + "-old"
    kracht_env(**smtp_server.env(), smtp_username=SMTP_USER, smtp_password=wrong)
    notification_id = outbox.notify()

    run_due(outbox.engine, max_attempts=1)

    job = outbox.send_job(notification_id)
    assert job.status is JobStatus.FAILED and job.attempts == 1
    assert job.last_error is not None and "SMTPAuthenticationError" in job.last_error
    assert "Wrong password" in caplog.text
    assert wrong not in job.last_error and wrong not in caplog.text
    assert outbox.get(notification_id).status is NotificationStatus.QUEUED
    assert smtp_server.mailbox.envelopes == []


def test_a_sign_in_link_is_not_kept_once_it_was_sent(
    outbox: Outbox, smtp_server: SmtpServer, kracht_env: Callable[..., None],
) -> None:
    kracht_env(**smtp_server.env())
    notification_id = outbox.notify("sign_in_link", recipient="fatima@example.org", member_id=None)

    run_due(outbox.engine, max_attempts=3)

    [message] = smtp_server.mailbox.messages()
    assert "https://kracht.example/mijn/inloggen/abc" in text_of(message)  # the recipient got the link ...
    notification = outbox.get(notification_id)
    assert notification.status is NotificationStatus.SENT
    assert "inloggen/abc" not in notification.body and notification.context == {}  # ... the database did not keep it
