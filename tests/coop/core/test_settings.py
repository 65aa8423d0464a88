"""Settings come from KRACHT_* variables; production refuses laptop defaults; secrets never print."""

from __future__ import annotations

import os
from typing import get_args

import pytest
from pydantic import SecretStr, ValidationError

from coop.core.settings import Environment, Settings, is_placeholder


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from the defaults: no KRACHT_* variables (conftest sets KRACHT_ENV=test)."""
    for name in list(os.environ):
        if name.startswith("KRACHT_"):
            monkeypatch.delenv(name)


def make_settings() -> Settings:
    """Settings from the environment only, ignoring any .env file in the working directory."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_are_for_a_laptop() -> None:
    settings = make_settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.database_url.startswith("sqlite:///")
    assert settings.is_production is False
    assert settings.jobs_max_attempts >= 1


def test_production_refuses_the_default_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "production")
    with pytest.raises(ValidationError, match="KRACHT_PUBLIC_URL"):
        make_settings()


def test_production_refuses_an_explicit_loopback_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "http://127.0.0.1:9000")
    with pytest.raises(ValidationError):
        make_settings()


def test_production_refuses_invoices_without_kvk_and_vat_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "https://kracht.example.org")
    with pytest.raises(ValidationError, match="KRACHT_COOP_KVK"):
        make_settings()


def test_production_with_a_public_url_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "production")
    monkeypatch.setenv("KRACHT_PUBLIC_URL", "https://kracht.example.org")
    monkeypatch.setenv("KRACHT_COOP_KVK", "90000001")
    monkeypatch.setenv("KRACHT_COOP_VAT_ID", "NL004495445B01")
    settings = make_settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.is_production is True
    assert settings.public_url == "https://kracht.example.org"


def test_the_default_public_url_is_fine_outside_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "test")
    assert make_settings().env is Environment.TEST


def test_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_ENV", "staging")
    with pytest.raises(ValidationError):
        make_settings()


def test_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_DATABASE_URL", "postgresql://kracht@db.example.org:5432/kracht")
    assert make_settings().database_url == "postgresql://kracht@db.example.org:5432/kracht"


def test_numbers_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_JOBS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("KRACHT_JOBS_POLL_SECONDS", "0.5")
    settings = make_settings()
    assert settings.jobs_max_attempts == 3
    assert settings.jobs_poll_seconds == 0.5
    monkeypatch.setenv("KRACHT_TOKEN_TTL_MINUTES", "0")
    with pytest.raises(ValidationError):
        make_settings()


def test_secrets_are_secret_str_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_DEMO_PASSWORD_SUFFIX", "hunter2-xyz")
    settings = make_settings()
    assert isinstance(settings.demo_password_suffix, SecretStr)
    assert settings.demo_password_suffix.get_secret_value() == "hunter2-xyz"
    assert "hunter2-xyz" not in repr(settings)
    assert "hunter2-xyz" not in str(settings)
    assert "hunter2-xyz" not in settings.model_dump_json()
    assert "hunter2-xyz" not in repr(settings.demo_password_suffix)


def test_a_database_password_does_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRACHT_DATABASE_URL", "postgresql://kracht:pw-7f3a9c@db.example.org/kracht")
    settings = make_settings()
    assert settings.database_url == "postgresql://kracht:pw-7f3a9c@db.example.org/kracht"
    assert "pw-7f3a9c" not in repr(settings)
    assert "pw-7f3a9c" not in str(settings)


def test_every_secret_field_is_a_secret_str() -> None:
    """Any field whose name says it is a secret must be typed SecretStr (or SecretStr | None)."""
    hints = ("secret", "password", "api_key", "token_key", "private_key")
    checked = []
    for name, field in Settings.model_fields.items():
        if any(hint in name for hint in hints):
            checked.append(name)
            assert SecretStr in (field.annotation, *get_args(field.annotation)), name
    assert "demo_password_suffix" in checked


@pytest.mark.parametrize(
    ("secret", "placeholder"),
    [
        (None, True),
        (SecretStr(""), True),
        (SecretStr("  changeme "), True),
        (SecretStr("CHANGE-ME"), True),
        (SecretStr("xxx"), True),
        (SecretStr("a-real-secret-8c1f"), False),
    ],
)
def test_is_placeholder(secret: SecretStr | None, placeholder: bool) -> None:
    assert is_placeholder(secret) is placeholder


@pytest.mark.parametrize(("name", "value", "message"), [
    ("KRACHT_STRIPE_API_KEY", "changeme", "KRACHT_STRIPE_API_KEY is a placeholder"),
    ("KRACHT_STRIPE_WEBHOOK_SECRET", "secret", "KRACHT_STRIPE_WEBHOOK_SECRET is a placeholder"),
    ("KRACHT_MOLLIE_API_KEY", "xxx", "KRACHT_MOLLIE_API_KEY is a placeholder"),
    ("KRACHT_SMTP_PASSWORD", "", "KRACHT_SMTP_PASSWORD is a placeholder"),
])
def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                         message: str) -> None:
    for variable, setting in (("KRACHT_ENV", "production"), ("KRACHT_PUBLIC_URL", "https://kracht.example.org"),
                              ("KRACHT_COOP_KVK", "90000001"), ("KRACHT_COOP_VAT_ID", "NL004495445B01"),
                              (name, value)):
        monkeypatch.setenv(variable, setting)
    with pytest.raises(ValidationError, match=message):
        make_settings()
    monkeypatch.setenv("KRACHT_ENV", "development")
    assert make_settings().env is Environment.DEVELOPMENT  # a laptop may use them
