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
    public_posts_per_minute: int = Field(default=30, ge=1)

    coop_name: str = "Coöperatie Kracht in NL U.A."
    coop_iban: str | None = None
    coop_bic: str | None = None

    @model_validator(mode="after")
    def _refuse_demo_values_in_production(self) -> Settings:
        """Production must not run on the embedded defaults meant for a laptop."""
        if self.env is Environment.PRODUCTION and self.public_url.startswith("http://127.0.0.1"):
            raise ValueError("KRACHT_PUBLIC_URL must be set to the public address in production")
        return self

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
