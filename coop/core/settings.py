"""Settings: the one place that reads the environment (prefix KRACHT_)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where Kracht runs; production refuses demo shortcuts."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "xxx"})


class Settings(BaseSettings):
    """Every tunable of Kracht; secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_prefix="KRACHT_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = Field(default="sqlite:///var/kracht.db", repr=False)  # may hold a password
    # The dashboards' own connection (on PostgreSQL a read-only role, see `kracht db grant-readonly`);
    # unset, they read KRACHT_DATABASE_URL through a read-only engine.
    dashboard_database_url: str | None = Field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"

    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)

    db_pool_size: int = Field(default=5, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

    jobs_poll_seconds: float = Field(default=2.0, gt=0)
    jobs_max_attempts: int = Field(default=8, ge=1)

    demo_password_suffix: SecretStr = SecretStr("demo")

    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    mollie_api_key: SecretStr | None = None
    mollie_api_base: str | None = None
    payment_open_minutes: int = Field(default=30, ge=1)

    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    cors_origins: list[str] = Field(default_factory=list)  # sites whose pages may call the API (none by default)
    public_posts_per_minute: int = Field(default=30, ge=1)
    # How long a process may answer the anonymous project listing and detail from its own copy (0: never).
    public_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    coop_name: str = "Coöperatie Kracht in NL U.A."
    coop_iban: str | None = None
    coop_bic: str | None = None
    coop_address: str = "Oudegracht 1, 3511 AA Utrecht"
    coop_kvk: str | None = None  # required on invoices: refused empty in production
    coop_vat_id: str | None = None  # idem (btw-identificatienummer, NL...B01)
    coop_email: str = "administratie@kracht.example"

    subscription_grace_days: int = Field(default=30, ge=1)
    subscription_reminder_days: tuple[int, int] = (7, 21)
    subscription_notice_days: int = Field(default=30, ge=1)

    pledge_min_cents: int = Field(default=100, ge=1)
    pledge_max_cents: int = Field(default=1_000_000, ge=100)

    smtp_host: str | None = None  # unset: notifications are kept for `kracht notifications list`
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    mail_from: str = "Kracht in NL <noreply@kracht.example>"

    @model_validator(mode="after")
    def _refuse_demo_values_in_production(self) -> Settings:
        """Production must not run on the embedded defaults meant for a laptop."""
        if self.env is Environment.PRODUCTION and self.public_url.startswith("http://127.0.0.1"):
            raise ValueError("KRACHT_PUBLIC_URL must be set to the public address in production")
        if self.env is Environment.PRODUCTION and not (self.coop_kvk and self.coop_vat_id):
            raise ValueError("KRACHT_COOP_KVK and KRACHT_COOP_VAT_ID must be set in production (they go on invoices)")
        if self.env is Environment.PRODUCTION:
            self._refuse_placeholder_secrets()
        if not 0 < self.subscription_reminder_days[0] < self.subscription_reminder_days[1] < \
                self.subscription_grace_days:
            raise ValueError("KRACHT_SUBSCRIPTION_REMINDER_DAYS must be two increasing days within the grace period")
        return self

    def _refuse_placeholder_secrets(self) -> None:
        """A secret that is set must be real in production (unset means the feature is off)."""
        for name in ("stripe_api_key", "stripe_webhook_secret", "mollie_api_key", "smtp_password"):
            value = getattr(self, name)
            if value is not None and is_placeholder(value):
                raise ValueError(f"KRACHT_{name.upper()} is a placeholder: set the real secret, or leave it unset")
        # Test keys of Stripe and Mollie are refused where they are used (the providers), with the same message.

    @property
    def is_production(self) -> bool:
        """True when real money and real people are involved."""
        return self.env is Environment.PRODUCTION


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def is_placeholder(secret: SecretStr | None) -> bool:
    """A secret that is missing or an obvious placeholder."""
    return secret is None or secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
