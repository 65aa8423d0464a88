"""Notify renders and queues in the caller's transaction; sending reaches a real SMTP server once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlmodel import Session, select

from coop.core.clock import frozen_clock, utc_now
from coop.core.jobs import Job, JobStatus
from coop.core.settings import Settings
from coop.notifications import service
from coop.notifications.models import Notification, NotificationStatus
from coop.notifications.queries import list_notifications
from coop.notifications.service import DeliveryError, notify, send_notification
from tests.coop.notifications.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port, text_of
from tests.coop.notifications.support import sample

COOP_NAME = Settings().coop_name


def welcome(session: Session, **kwargs: object) -> Notification:
    """The welcome message to Fatima, in Dutch unless told otherwise."""
    arguments: dict = {"template": "welcome", "recipient": "fatima@example.org", "context": sample("welcome"),
                       **kwargs}
    return notify(session, **arguments)


def send_jobs(session: Session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.name == "notifications.send")).all())


# --- notify: rendered now, stored and queued in the caller's transaction -----------------------------


def test_notify_renders_stores_and_queues_the_send_job(session: Session) -> None:
    member_id = uuid.uuid4()

    notification = welcome(session, member_id=member_id)

    session.expire_all()
    stored = session.get(Notification, notification.id)
    assert stored is not None
    assert stored.status is NotificationStatus.QUEUED
    assert (stored.template, stored.locale, stored.recipient, stored.member_id) == \
        ("welcome", "nl", "fatima@example.org", member_id)
    assert stored.subject == f"Welkom bij {COOP_NAME}"
    assert stored.body.startswith("Beste Fatima el Amrani,\n")
    assert "Uw lidnummer is 1042." in stored.body
    assert stored.body.endswith(f"Met vriendelijke groet,\n\n{COOP_NAME}\n")
    assert stored.context == sample("welcome")
    assert stored.attempts == 0 and stored.sent_at is None
    [job] = send_jobs(session)
    assert job.args == {"notification_id": str(notification.id)}
    assert job.dedupe_key == f"notifications.send:{notification.id}"
    assert job.status is JobStatus.QUEUED


def test_the_same_dedupe_key_queues_once(session: Session) -> None:
    first = welcome(session, dedupe_key="welcome:1042")

    again = welcome(session, dedupe_key="welcome:1042", context=sample("welcome", member_name="Someone Else"))

    assert again.id == first.id
    assert session.exec(select(Notification)).all() == [first]
    assert len(send_jobs(session)) == 1
    assert "Fatima el Amrani" in again.body


def test_different_dedupe_keys_queue_each(session: Session) -> None:
    welcome(session, dedupe_key="welcome:1042")
    welcome(session, dedupe_key="welcome:1043")

    assert len(session.exec(select(Notification)).all()) == 2
    assert len(send_jobs(session)) == 2


@pytest.mark.parametrize("template", ["no_such_template", "../welcome", "Welcome", ""])
def test_an_unknown_template_is_a_programming_error(session: Session, template: str) -> None:
    with pytest.raises(ValueError, match="template"):
        notify(session, template=template, recipient="fatima@example.org", context={})

    assert session.exec(select(Notification)).all() == []
    assert send_jobs(session) == []


def test_a_missing_context_key_is_refused_before_anything_is_stored(session: Session) -> None:
    with pytest.raises(ValueError, match="member_number"):
        notify(session, template="welcome", recipient="fatima@example.org", context={"member_name": "Fatima"})

    assert session.exec(select(Notification)).all() == []


def test_the_context_must_be_json_safe(session: Session) -> None:
    with pytest.raises(ValueError, match="JSON-safe"):
        welcome(session, context=sample("welcome", member_number=date(2026, 1, 1)))


@pytest.mark.parametrize("recipient", ["fatima@example.org\r\nBcc: all@example.org", "not-an-address"])
def test_a_recipient_that_is_no_address_is_refused(session: Session, recipient: str) -> None:
    with pytest.raises(ValueError, match="e-mail address"):
        welcome(session, recipient=recipient)


# --- locales ------------------------------------------------------------------------------------------


def test_english_when_asked(session: Session) -> None:
    notification = welcome(session, locale="en")

    assert notification.locale == "en"
    assert notification.subject == f"Welcome to {COOP_NAME}"
    assert notification.body.startswith("Dear Fatima el Amrani,\n")


def test_an_unknown_locale_falls_back_to_english(session: Session) -> None:
    notification = welcome(session, locale="de")

    assert notification.locale == "en"
    assert notification.subject == f"Welcome to {COOP_NAME}"


def test_a_template_without_english_falls_back_to_dutch(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    only_dutch = DictLoader({"only_dutch.nl.txt.j2": "Subject: Alleen in het Nederlands\nHallo {{ name }}.\n"})
    monkeypatch.setattr(service._TEMPLATES, "loader", ChoiceLoader([only_dutch, service._TEMPLATES.loader]))

    for locale in ("en", "de", "nl"):
        notification = notify(session, template="only_dutch", recipient="fatima@example.org",
                              context={"name": "Fatima"}, locale=locale)
        assert (notification.locale, notification.subject, notification.body) == \
            ("nl", "Alleen in het Nederlands", "Hallo Fatima.\n")


# --- the subject is one header line ----------------------------------------------------------------


def test_newlines_in_a_subject_value_are_stripped(session: Session, smtp_server: SmtpServer) -> None:
    context = sample("invoice", invoice_number="2026-0007\r\nBcc: everyone@example.org\n\nHello")

    notification = notify(session, template="invoice", recipient="fatima@example.org", context=context)
    send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    assert notification.subject == f"Factuur 2026-0007 Bcc: everyone@example.org Hello van {COOP_NAME}"
    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == ["fatima@example.org"]
    [message] = smtp_server.mailbox.messages()
    assert message["Bcc"] is None
    assert message["Subject"] == notification.subject


def test_a_long_subject_is_cut_at_255_characters(session: Session) -> None:
    notification = notify(session, template="invoice", recipient="fatima@example.org",
                          context=sample("invoice", invoice_number="9" * 400))

    assert len(notification.subject) == 255
    assert notification.subject.endswith("…")


# --- sending ----------------------------------------------------------------------------------------------


def test_send_delivers_the_message_to_the_smtp_server(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)
    moment = utc_now().replace(microsecond=0)

    with frozen_clock(moment):
        sent = send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    assert sent.status is NotificationStatus.SENT
    assert sent.sent_at == moment and sent.attempts == 1 and sent.last_error is None
    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.mail_from == "noreply@kracht.example"
    assert envelope.rcpt_tos == ["fatima@example.org"]
    [message] = smtp_server.mailbox.messages()
    assert message["To"] == "fatima@example.org"
    assert message["From"] == "Kracht in NL <noreply@kracht.example>"
    assert message["Reply-To"] == Settings().coop_email
    assert message["Subject"] == f"Welkom bij {COOP_NAME}"
    assert message["Message-ID"] == f"<{notification.id}@kracht.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == moment
    assert text_of(message) == notification.body


def test_send_is_idempotent_once_sent(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)
    send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    again = send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    assert again.status is NotificationStatus.SENT and again.attempts == 1
    assert len(smtp_server.mailbox.envelopes) == 1


def test_the_attachment_url_is_a_line_at_the_end_of_the_body(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session, attachment_url="https://kracht.example/certificates/1042.pdf")

    send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    [message] = smtp_server.mailbox.messages()
    assert text_of(message) == notification.body + "\nhttps://kracht.example/certificates/1042.pdf\n"
    assert not message.is_multipart()


def test_an_attachment_url_already_in_the_body_is_not_repeated(session: Session, smtp_server: SmtpServer) -> None:
    context = sample("invoice")
    notification = notify(session, template="invoice", recipient="fatima@example.org", context=context,
                          attachment_url=context["pdf_url"])

    send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    [message] = smtp_server.mailbox.messages()
    assert text_of(message).count(context["pdf_url"]) == 1


def test_without_an_smtp_host_the_notification_is_held(session: Session) -> None:
    notification = welcome(session)

    held = send_notification(session, notification_id=notification.id, settings=Settings(smtp_host=None))

    assert held.status is NotificationStatus.HELD
    assert held.sent_at is None and held.attempts == 0


def test_a_held_notification_is_sent_once_smtp_is_configured(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)
    send_notification(session, notification_id=notification.id, settings=Settings(smtp_host=None))

    sent = send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    assert sent.status is NotificationStatus.SENT
    assert len(smtp_server.mailbox.envelopes) == 1


def test_a_refused_recipient_fails_for_good(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session, recipient="nobody@refused.example")

    failed = send_notification(session, notification_id=notification.id, settings=smtp_server.settings())

    assert failed.status is NotificationStatus.FAILED
    assert failed.last_error is not None and "No such mailbox" in failed.last_error
    assert smtp_server.mailbox.envelopes == []


def test_a_server_that_is_down_raises_for_a_retry(session: Session) -> None:
    notification = welcome(session)
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_seconds=5)

    with pytest.raises(DeliveryError, match="ConnectionRefusedError"):
        send_notification(session, notification_id=notification.id, settings=settings)

    assert notification.status is NotificationStatus.QUEUED
    assert notification.attempts == 1
    assert notification.last_error is not None and "ConnectionRefusedError" in notification.last_error


def test_signs_in_with_the_username_and_password(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)

    send_notification(session, notification_id=notification.id,
                      settings=smtp_server.settings(smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD))

    assert smtp_server.mailbox.logins == [SMTP_USER]
    assert len(smtp_server.mailbox.envelopes) == 1


def test_a_refused_password_never_appears_in_the_error(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)
    wrong = SMTP_PASSWORD + "-but-wrong"

    with pytest.raises(DeliveryError) as raised:
        send_notification(session, notification_id=notification.id,
                          settings=smtp_server.settings(smtp_username=SMTP_USER, smtp_password=wrong))

    # The server echoed the password in its reply; what we keep and raise has it blanked out.
    assert "SMTPAuthenticationError" in str(raised.value) and "Wrong password" in str(raised.value)
    assert wrong not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert notification.last_error is not None and wrong not in notification.last_error
    assert notification.status is NotificationStatus.QUEUED


def test_no_password_in_the_clear_when_starttls_is_asked_but_not_offered(
    session: Session, smtp_server: SmtpServer,
) -> None:
    notification = welcome(session)
    settings = smtp_server.settings(smtp_starttls=True, smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)

    with pytest.raises(DeliveryError, match="offers no STARTTLS"):
        send_notification(session, notification_id=notification.id, settings=settings)

    assert smtp_server.mailbox.logins == []
    assert smtp_server.mailbox.envelopes == []


def test_without_a_username_starttls_is_used_only_when_offered(session: Session, smtp_server: SmtpServer) -> None:
    notification = welcome(session)

    send_notification(session, notification_id=notification.id, settings=smtp_server.settings(smtp_starttls=True))

    assert len(smtp_server.mailbox.envelopes) == 1


# --- queries ----------------------------------------------------------------------------------------------


def test_list_notifications_newest_first_with_filters(session: Session) -> None:
    member_id = uuid.uuid4()
    start = utc_now()
    with frozen_clock(start):
        oldest = welcome(session, member_id=member_id)
    with frozen_clock(start + timedelta(minutes=1)):
        other = welcome(session, recipient="jan@example.org")
    with frozen_clock(start + timedelta(minutes=2)):
        newest = welcome(session, member_id=member_id)
    send_notification(session, notification_id=other.id, settings=Settings(smtp_host=None))

    assert list_notifications(session) == [newest, other, oldest]
    assert list_notifications(session, limit=2) == [newest, other]
    assert list_notifications(session, member_id=member_id) == [newest, oldest]
    assert list_notifications(session, status=NotificationStatus.HELD) == [other]
    assert list_notifications(session, status=NotificationStatus.QUEUED, member_id=member_id) == [newest, oldest]
