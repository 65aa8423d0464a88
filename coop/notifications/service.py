"""Notifications: rendered when the event happens, stored in its transaction, sent later by SMTP."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    UndefinedError,
)
from sqlalchemy import exc
from sqlmodel import Session, select

from coop.core.clock import utc_now
from coop.core.jobs import enqueue
from coop.core.settings import Settings, get_settings
from coop.notifications.models import Notification, NotificationStatus
from coop.notifications.queries import get_notification

SEND_JOB = "notifications.send"
FALLBACK_LOCALES = ("en", "nl")
SUBJECT_PREFIX = "Subject:"
SUBJECT_MAX = 255
ERROR_MAX = 500
_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
_LOCALE = re.compile(r"^[a-z]{2}(-[a-z]{2})?\Z")

# Plain-text mail: HTML escaping would put "&amp;" in a member's name, so autoescape stays off.
_TEMPLATES = Environment(
    loader=PackageLoader("coop.notifications", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class DeliveryError(Exception):
    """SMTP delivery failed for a reason that may pass (server down, busy, misconfigured): retry later."""


@dataclass(frozen=True)
class Rendered:
    """A message as the recipient will read it, and the locale its template was written in."""

    subject: str
    body: str
    locale: str


def _load(template: str, locale: str) -> tuple[str, Template, Template]:
    """The first template found for the locale, then English, then Dutch: (locale, subject, body)."""
    if not _NAME.match(template):
        raise ValueError(f"not a template name: {template!r}")
    if not _LOCALE.match(locale):
        raise ValueError(f"not a locale: {locale!r}")
    assert _TEMPLATES.loader is not None
    for candidate in dict.fromkeys((locale, *FALLBACK_LOCALES)):
        try:
            source, _, _ = _TEMPLATES.loader.get_source(_TEMPLATES, f"{template}.{candidate}.txt.j2")
        except TemplateNotFound:
            continue
        # The subject line is rendered on its own, so a newline in a value cannot end it early.
        first, _, rest = source.partition("\n")
        if not first.startswith(SUBJECT_PREFIX):
            raise ValueError(f"template {template}.{candidate} must start with {SUBJECT_PREFIX!r}")
        return candidate, _TEMPLATES.from_string(first[len(SUBJECT_PREFIX):]), _TEMPLATES.from_string(rest)
    raise ValueError(f"no such notification template: {template!r}")


def clean_subject(subject: str) -> str:
    """One line of at most 255 characters: CR/LF and runs of whitespace become one space (no header injection)."""
    line = " ".join(subject.split())
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def render(template: str, *, locale: str, context: dict[str, Any], settings: Settings) -> Rendered:
    """Subject and plain-text body of `template` in `locale` (or en, or nl); a missing context key is a ValueError."""
    found, subject, body = _load(template, locale.lower())
    values = {**context, "coop_name": settings.coop_name, "coop_email": settings.coop_email}
    try:
        return Rendered(subject=clean_subject(subject.render(values)),
                        body=body.render(values).strip("\n") + "\n", locale=found)
    except UndefinedError as error:
        raise ValueError(f"template {template}.{found}: {error.message}") from error


def _json_safe(context: dict[str, Any]) -> dict[str, Any]:
    """The context as it will be stored: only JSON types, so the row can be rendered again later."""
    try:
        stored: dict[str, Any] = json.loads(json.dumps(context, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"notification context must be JSON-safe (format dates and amounts first): {error}") \
            from error
    return stored


def _by_dedupe_key(session: Session, dedupe_key: str) -> Notification | None:
    """The notification already queued under this key, if any."""
    return session.exec(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()


def notify(
    session: Session, *, template: str, recipient: str, context: dict[str, Any],
    member_id: uuid.UUID | None = None, locale: str = "nl", dedupe_key: str | None = None,
    attachment_url: str | None = None,
) -> Notification:
    """Render a message now and queue its sending in the caller's transaction; the same `dedupe_key` queues once."""
    if "\r" in recipient or "\n" in recipient or "@" not in recipient:
        raise ValueError(f"not an e-mail address: {recipient!r}")
    stored_context = _json_safe(context)
    rendered = render(template, locale=locale, context=stored_context, settings=get_settings())
    if dedupe_key is not None:
        existing = _by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing
    notification = Notification(
        template=template, locale=rendered.locale, recipient=recipient.strip(), member_id=member_id,
        subject=rendered.subject, body=rendered.body, context=stored_context, attachment_url=attachment_url,
        dedupe_key=dedupe_key,
    )
    try:
        with session.begin_nested():
            session.add(notification)
            session.flush()
    except exc.IntegrityError:
        # Another transaction queued the same notification first (anything else is re-raised).
        existing = _by_dedupe_key(session, dedupe_key) if dedupe_key is not None else None
        if existing is None:
            raise
        return existing
    enqueue(session, name=SEND_JOB, args={"notification_id": str(notification.id)},
            dedupe_key=f"{SEND_JOB}:{notification.id}")
    return notification


def build_message(notification: Notification, *, settings: Settings) -> EmailMessage:
    """The e-mail of a notification; its Message-ID is stable, so a retried delivery is recognisably the same."""
    sender_domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "kracht.invalid"
    body = notification.body
    if notification.attachment_url and notification.attachment_url not in body:
        body = f"{body.rstrip()}\n\n{notification.attachment_url}\n"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = notification.recipient
    message["Reply-To"] = settings.coop_email
    message["Subject"] = clean_subject(notification.subject)
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = f"<{notification.id}@{sender_domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a robot
    message.set_content(body, cte="quoted-printable")
    return message


def _deliver(message: EmailMessage, *, settings: Settings) -> None:
    """Hand the message to the SMTP server, upgrading to TLS when asked and offered."""
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif settings.smtp_starttls and settings.smtp_username:
            raise DeliveryError("the SMTP server offers no STARTTLS; the password is not sent in the clear "
                                "(set KRACHT_SMTP_STARTTLS=false only for a trusted local relay)")
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(message)


def _is_permanent(error: Exception) -> bool:
    """A 5xx refusal of this recipient or this message: retrying will not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def _describe(error: Exception, settings: Settings) -> str:
    """The error as text for people, with the SMTP password blanked out should a server echo it."""
    text = f"{type(error).__name__}: {error}"
    if settings.smtp_password is not None and settings.smtp_password.get_secret_value():
        text = text.replace(settings.smtp_password.get_secret_value(), "**********")
    return text[:ERROR_MAX]


NOT_KEPT = frozenset({"sign_in_link"})  # messages whose text is a key: not kept once sent
CLEARED_TEXT = "(verzonden; de tekst bevatte een eenmalige inloglink en is niet bewaard)"


def send_notification(session: Session, *, notification_id: uuid.UUID, settings: Settings) -> Notification:
    """Send a notification by SMTP: once SENT nothing happens again; without an SMTP host it is HELD.

    A refusal of the recipient or message (5xx) marks it FAILED. Any other failure is
    recorded and raised as DeliveryError, so the job is retried with backoff (the job's
    savepoint then rolls this row back and the job row keeps the error).
    """
    notification = get_notification(session, notification_id=notification_id)
    if notification is None:
        raise LookupError(f"no notification {notification_id}")
    if notification.status is NotificationStatus.SENT:
        return notification
    if settings.smtp_host is None:
        notification.status = NotificationStatus.HELD
    else:
        notification.attempts += 1
        try:
            _deliver(build_message(notification, settings=settings), settings=settings)
        except (OSError, DeliveryError) as error:  # smtplib's errors are OSErrors
            notification.last_error = _describe(error, settings)
            if not _is_permanent(error):
                session.add(notification)
                session.flush()
                # Raised afresh without its cause, so the worker's traceback holds only the blanked text.
                raise DeliveryError(notification.last_error) from None
            notification.status = NotificationStatus.FAILED
        else:
            notification.status = NotificationStatus.SENT
            notification.sent_at = utc_now()
            notification.last_error = None
            if notification.template in NOT_KEPT:  # the link was for the recipient only
                notification.body, notification.context = CLEARED_TEXT, {}
    session.add(notification)
    session.flush()
    return notification
