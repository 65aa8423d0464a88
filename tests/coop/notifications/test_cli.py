"""`kracht notifications list` and `show` against the test database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from coop.cli import app
from coop.core.db import get_engine
from coop.core.jobs import run_due
from coop.core.settings import get_settings
from coop.notifications.models import NotificationStatus
from tests.coop.notifications.conftest import Outbox


def clear_caches() -> None:
    """The CLI reads settings and builds its engine once per process: make it see this test's environment."""
    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@pytest.fixture
def kracht(outbox: Outbox, kracht_env: Callable[..., None]) -> Iterator[Callable[..., Result]]:
    """`kracht(*args)`: the command on the test database, without SMTP, in a wide terminal."""
    kracht_env(database_url=outbox.engine.url.render_as_string(hide_password=False))

    def run(*args: str) -> Result:
        clear_caches()
        try:
            result = CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))
        finally:
            clear_caches()
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
        return result

    yield run
    clear_caches()


def test_list_shows_held_notifications(outbox: Outbox, kracht: Callable[..., Result]) -> None:
    held = outbox.notify(member_id=None)
    queued = outbox.notify("lapsed", recipient="jan@example.org")
    run_due(outbox.engine, max_attempts=3)  # without SMTP: held
    later = outbox.notify("invoice", recipient="[bold]piet@example.org")

    listed = kracht("notifications", "list").output
    only_held = kracht("notifications", "list", "--status", "held").output

    assert outbox.get(held).status is NotificationStatus.HELD
    assert str(held) in listed and str(queued) in listed and str(later) in listed
    assert listed.index(str(later)) < listed.index(str(queued)) < listed.index(str(held))
    assert "[bold]piet@example.org" in listed
    assert "Factuur 2026-0007 van" in listed
    assert str(held) in only_held and "Welkom bij" in only_held and "fatima@example.org" in only_held
    assert str(later) not in only_held


def test_list_by_member_and_limit(outbox: Outbox, kracht: Callable[..., Result]) -> None:
    member_id = uuid.uuid4()
    mine = outbox.notify(member_id=member_id)
    other = outbox.notify()

    by_member = kracht("notifications", "list", "--member", str(member_id)).output
    limited = kracht("notifications", "list", "--limit", "1").output

    assert str(mine) in by_member and str(other) not in by_member
    assert "1 notification(s)" in limited and str(other) in limited


def test_show_prints_the_whole_message(outbox: Outbox, kracht: Callable[..., Result]) -> None:
    notification_id = outbox.notify("welcome", locale="en",
                                    attachment_url="https://kracht.example/certificates/1042.pdf")
    notification = outbox.get(notification_id)

    shown = kracht("notifications", "show", str(notification_id)).output

    assert "To:         fatima@example.org\n" in shown
    assert f"Subject:    {notification.subject}\n" in shown
    assert "Status:     queued" in shown
    assert "Attachment: https://kracht.example/certificates/1042.pdf\n" in shown
    assert shown.endswith(f"\n\n{notification.body}")
    assert "Sent:" not in shown and "Member:" not in shown


@pytest.mark.parametrize(("argument", "message"), [("not-a-uuid", "not a notification id"),
                                                   ("00000000-0000-0000-0000-000000000000", "no notification")])
def test_show_refuses_an_unknown_id(outbox: Outbox, kracht_env: Callable[..., None], argument: str,
                                    message: str) -> None:
    kracht_env(database_url=outbox.engine.url.render_as_string(hide_password=False))
    clear_caches()
    try:
        result = CliRunner().invoke(app, ["notifications", "show", argument])
    finally:
        clear_caches()

    assert result.exit_code == 1
    assert message in result.output
