"""Configuration read from the environment, once per process."""

import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The environment does not describe a configuration the server can run with."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _count(name: str, default: int) -> int:
    """A whole number; 0 when unreadable, which check() refuses with the variable's name."""
    try:
        return int(_env(name) or default)
    except ValueError:
        return 0


def _seconds(name: str, default: float) -> float:
    """A number of seconds; NaN when unreadable, which check() refuses with the variable's name."""
    try:
        return float(_env(name) or default)
    except ValueError:
        return float("nan")


def _whole_number(name: str, default: int) -> int:
    """A whole number; 0 when unreadable, which check() refuses with the variable's name."""
    try:
        return int(_env(name) or default)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default_factory=lambda: _env("DATABASE_URL"))
    """postgresql://... of the server to use; unset means an embedded PostgreSQL under data_dir."""
    secret_key: str | None = field(default_factory=lambda: _env("SECRET_KEY"))
    """Signs CSRF tokens; in development a random key is kept in data_dir when unset."""
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "./.data") or ".data").resolve())
    """Where the embedded database and the development secret live."""
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1") or "127.0.0.1")
    port: int = field(default_factory=lambda: int(_env("PORT", "8000") or "8000"))
    app_env: str = field(default_factory=lambda: _env("APP_ENV", "development") or "development")
    """development | production."""
    public_url: str | None = field(default_factory=lambda: _env("PUBLIC_URL"))
    """Base of links handed out (activation links); defaults to http://HOST:PORT."""
    queue_keepalive_seconds: float = field(default_factory=lambda: _seconds("QUEUE_KEEPALIVE_SECONDS", 15.0))
    """How often an idle queue event stream sends a keepalive; the page calls a stream silent for
    twice as long (plus slack) dead and reconnects."""

    max_body_bytes: int = field(default_factory=lambda: _whole_number("MAX_BODY_BYTES", 64 * 1024))
    """Largest request body taken (forms and the JSON API); a larger one is refused with 413 unread."""

    smtp_host: str | None = field(default_factory=lambda: _env("SMTP_HOST"))
    """Mail server for outgoing mail (activation links); unset writes .eml files to DATA_DIR/mail."""
    smtp_port: int = field(default_factory=lambda: int(_env("SMTP_PORT", "587") or "587"))
    smtp_username: str | None = field(default_factory=lambda: _env("SMTP_USERNAME"))
    smtp_password: str | None = field(default_factory=lambda: _env("SMTP_PASSWORD"))
    smtp_starttls: bool = field(
        default_factory=lambda: (_env("SMTP_STARTTLS", "true") or "true").lower() == "true"
    )
    smtp_timeout: float = field(default_factory=lambda: _seconds("SMTP_TIMEOUT", 10.0))
    """Seconds a mail server may stay silent before a send fails (and is retried later)."""
    mail_from: str = field(default_factory=lambda: _env("MAIL_FROM", "maker-checker@localhost") or "")
    mail_retry_seconds: float = field(default_factory=lambda: float(_env("MAIL_RETRY_SECONDS", "60") or "60"))
    """Seconds between an app process's own outbox runs (retries, leftovers); 0 turns them off."""
    db_pool_size: int = field(default_factory=lambda: _count("DB_POOL_SIZE", 32))
    """Database connections each app process keeps open. At least the requests a process serves
    at once: past it, connections are opened and closed per request, and each new one costs
    PostgreSQL a backend and the driver a type introspection."""
    audit_seal_interval: float = field(
        default_factory=lambda: float(_env("AUDIT_SEAL_INTERVAL", "0.5") or "0.5")
    )
    """Seconds between the audit sealer's runs in each app process; 0 turns the in-app sealer off."""
    expiry_sweep_seconds: float = field(default_factory=lambda: _seconds("EXPIRY_SWEEP_SECONDS", 30.0))
    """Seconds between sweeps that mark pending actions past their time to live expired; one
    process sweeps at a time (an advisory-lock election); 0 turns the sweeper off."""
    audit_max_unsealed_seconds: float = field(
        default_factory=lambda: float(_env("AUDIT_MAX_UNSEALED_SECONDS", "60") or "60")
    )
    """verify-audit fails when an audit event has stayed unsealed for longer than this."""

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def public_base_url(self) -> str:
        """Where people reach this server: PUBLIC_URL, else http://HOST:PORT. Never a request's
        Host header, which the sender of the request chooses."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.is_production

    def check(self) -> None:
        """Refuse configurations that are unsafe or meaningless."""
        if self.app_env not in ("development", "production"):
            raise ConfigurationError("APP_ENV must be 'development' or 'production'")
        if self.is_production and not (self.database_url and self.secret_key):
            raise ConfigurationError("APP_ENV=production requires DATABASE_URL and SECRET_KEY")
        if self.is_production and not self.public_url:
            # activation links are built from it; a guessed host could mail tokens to the wrong server
            raise ConfigurationError(
                "APP_ENV=production requires PUBLIC_URL, the address people use to reach this server "
                "(such as https://maker-checker.example.com): activation links are built from it"
            )
        if self.public_url and not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", self.public_url):
            raise ConfigurationError(
                "PUBLIC_URL must be an http:// or https:// URL, such as https://mc.example.com"
            )
        if not self.queue_keepalive_seconds > 0:
            raise ConfigurationError("QUEUE_KEEPALIVE_SECONDS must be a positive number of seconds")
        if self.max_body_bytes <= 0:
            raise ConfigurationError("MAX_BODY_BYTES must be a positive number of bytes, such as 65536")
        if not self.smtp_timeout > 0:
            raise ConfigurationError("SMTP_TIMEOUT must be a positive number of seconds")
        if self.mail_retry_seconds < 0:
            raise ConfigurationError("MAIL_RETRY_SECONDS must not be negative")
        if not self.expiry_sweep_seconds >= 0:
            raise ConfigurationError("EXPIRY_SWEEP_SECONDS must be a number of seconds, 0 or more")
        if self.db_pool_size < 1:
            raise ConfigurationError("DB_POOL_SIZE must be a whole number of at least 1")
        if self.audit_seal_interval < 0 or self.audit_max_unsealed_seconds < 0:
            raise ConfigurationError(
                "AUDIT_SEAL_INTERVAL and AUDIT_MAX_UNSEALED_SECONDS must not be negative"
            )

    def resolved_secret_key(self) -> str:
        """The configured key, or a development key persisted in data_dir so that processes share it."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
