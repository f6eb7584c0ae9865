"""Settings read from the environment once per invocation and checked at start.

Each function's settings, read with :class:`~auth0_webhooks.env.Env` (typed reads, secrets
by value or by ``NAME_ARN``). Every wrong value raises :class:`ConfigError` naming the
setting and what it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .env import Env, Secret
from .errors import ConfigError

_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_LOG_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class Auth0Settings:
    """Where the tenant is and how to get a token for it."""

    base_url: str  # https://example.eu.auth0.com, or http://127.0.0.1:8080 for a local tenant
    domain: str  # host[:port], used for the token audience
    client_id: str
    client_secret: Secret

    @property
    def audience(self) -> str:
        return f"https://{self.domain}/api/v2/"

    @classmethod
    def from_env(cls, env: Env) -> Auth0Settings:
        raw = env.required("AUTH0_DOMAIN", "a tenant domain such as example.eu.auth0.com")
        base_url, domain = parse_domain(raw)
        return cls(
            base_url=base_url,
            domain=domain,
            client_id=env.required("AUTH0_CLIENT_ID", "the client id of a machine-to-machine app with read:logs"),
            client_secret=env.secret("AUTH0_CLIENT_SECRET"),  # type: ignore[arg-type]  # required=True
        )


def parse_domain(raw: str) -> tuple[str, str]:
    """``(base_url, domain)`` from a tenant domain or a full base URL.

    >>> parse_domain("example.eu.auth0.com")
    ('https://example.eu.auth0.com', 'example.eu.auth0.com')
    >>> parse_domain("http://127.0.0.1:8080/")
    ('http://127.0.0.1:8080', '127.0.0.1:8080')
    """
    allowed = "a tenant domain such as example.eu.auth0.com, or a base URL such as http://127.0.0.1:8080"
    if "://" not in raw:
        if not _DOMAIN.match(raw):
            raise ConfigError("AUTH0_DOMAIN", allowed, got=raw)
        return f"https://{raw}", raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError("AUTH0_DOMAIN", allowed, got=raw)
    try:
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        raise ConfigError("AUTH0_DOMAIN", allowed, got=raw) from None
    return f"{parts.scheme}://{parts.netloc}", parts.netloc


@dataclass(frozen=True)
class SlackSettings:
    url: Secret | None
    send_success: bool

    @classmethod
    def from_env(cls, env: Env) -> SlackSettings:
        url = env.secret("SLACK_INCOMING_WEBHOOK_URL", required=False)
        if url is not None and not url.reveal().startswith(("https://", "http://")):
            raise ConfigError("SLACK_INCOMING_WEBHOOK_URL", "an http(s) URL of a Slack incoming webhook")
        return cls(url=url, send_success=env.boolean("SLACK_SEND_SUCCESS", False))


@dataclass(frozen=True)
class PollerSettings:
    """Everything the poller reads from its environment."""

    auth0: Auth0Settings
    checkpoint_table: str
    queue_url: str
    dead_letter_queue_url: str
    batch_size: int
    start_from: str | None
    log_types: frozenset[str]
    min_log_level: int | None
    api_endpoints: tuple[str, ...]
    slack: SlackSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PollerSettings:
        env = Env(environ)
        start_from = env.text("START_FROM")
        if start_from is not None and not _LOG_ID.match(start_from):
            raise ConfigError("START_FROM", "an Auth0 log_id (letters, digits, _ and -)", got=start_from)
        level = env.text("MIN_LOG_LEVEL")
        return cls(
            auth0=Auth0Settings.from_env(env),
            checkpoint_table=env.required("CHECKPOINT_TABLE", "the name of the DynamoDB checkpoint table"),
            queue_url=_queue_url(env, "QUEUE_URL"),
            dead_letter_queue_url=_queue_url(env, "DEAD_LETTER_QUEUE_URL"),
            batch_size=env.integer("BATCH_SIZE", default=100, low=1, high=100),
            start_from=start_from,
            log_types=frozenset(env.words("LOG_TYPES", r"[a-z0-9_]+", "Auth0 log type codes such as s,f,scp")),
            min_log_level=None if level is None else env.integer("MIN_LOG_LEVEL", 0, 0, 4),
            api_endpoints=env.words(
                "API_ENDPOINTS", r"[a-z0-9_-]+", "Management API endpoints such as users,connections"
            ),
            slack=SlackSettings.from_env(env),
        )


def _queue_url(env: Env, name: str) -> str:
    value = env.required(name, "an SQS queue URL")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(
            name, "an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/name", got=value
        )
    return value


@dataclass(frozen=True)
class DelivererSettings:
    """Everything the deliverer reads from its environment."""

    webhook_url: str
    authorization: Secret | None
    signing_secret: Secret | None
    send_as_batch: bool
    concurrency: int
    timeout: float
    queue_url: str
    dead_letter_queue_url: str
    max_receive_count: int
    retry_base_seconds: int
    retry_max_seconds: int
    slack: SlackSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DelivererSettings:
        env = Env(environ)
        url = env.required("WEBHOOK_URL", "the https:// URL of the webhook receiver")
        insecure = env.boolean("ALLOW_INSECURE_WEBHOOK", False)
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError("WEBHOOK_URL", "an https:// URL")
        if parts.scheme == "http" and not insecure:
            raise ConfigError("WEBHOOK_URL", "an https:// URL (http:// only with ALLOW_INSECURE_WEBHOOK=true)")
        signing_secret = env.secret("WEBHOOK_SECRET", required=False)
        if signing_secret is not None:
            from .signing import WebhookSigner

            try:
                WebhookSigner(signing_secret.reveal())
            except ValueError as error:
                raise ConfigError("WEBHOOK_SECRET", f"a Standard Webhooks secret (whsec_ + base64): {error}") from None
        return cls(
            webhook_url=url,
            authorization=env.secret("WEBHOOK_AUTHORIZATION", required=False),
            signing_secret=signing_secret,
            send_as_batch=env.boolean("SEND_AS_BATCH", True),
            concurrency=env.integer("WEBHOOK_CONCURRENT_CALLS", default=5, low=1, high=50),
            timeout=env.number("WEBHOOK_TIMEOUT", default=10.0, low=1, high=300),
            queue_url=_queue_url(env, "QUEUE_URL"),
            dead_letter_queue_url=_queue_url(env, "DEAD_LETTER_QUEUE_URL"),
            max_receive_count=env.integer("MAX_RECEIVE_COUNT", default=5, low=1, high=1000),
            retry_base_seconds=env.integer("RETRY_BASE_SECONDS", default=30, low=1, high=3600),
            retry_max_seconds=env.integer("RETRY_MAX_SECONDS", default=900, low=1, high=43200),
            slack=SlackSettings.from_env(env),
        )

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in an alert or a log line."""
        values = [self.authorization, self.signing_secret, self.slack.url]
        return tuple(secret.reveal() for secret in values if secret is not None)
