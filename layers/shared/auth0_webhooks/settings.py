"""Settings read from the environment once per invocation and checked at start.

Each function's settings, read with :class:`~auth0_webhooks.env.Env` (typed reads, secrets
by value or by ``NAME_ARN``). Every wrong value raises :class:`ConfigError` naming the
setting and what it accepts.

(Over 300 lines: every function's settings, and their checks, in one place to read.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .env import Env, Secret
from .errors import ConfigError
from .health.breaker import Thresholds

if TYPE_CHECKING:
    from .start_points import StartPoint

_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)?[^/@]*@", re.IGNORECASE)


@dataclass(frozen=True)
class Auth0Settings:
    """Where the tenant is and how to get a token for it."""

    base_url: str  # https://example.eu.auth0.com, or http://127.0.0.1:8080 for a local tenant
    domain: str  # host[:port], lower-cased: the token audience and the checkpoint's key
    client_id: str
    client_secret: Secret
    # the key earlier releases used when AUTH0_DOMAIN had capitals (they kept its case), else None
    legacy_key: str | None = None

    @property
    def audience(self) -> str:
        return f"https://{self.domain}/api/v2/"

    @classmethod
    def from_env(cls, env: Env) -> Auth0Settings:
        raw = env.required("AUTH0_DOMAIN", "a tenant domain such as example.eu.auth0.com")
        base_url, domain = parse_domain(raw)
        given = raw.split("://", 1)[-1].rstrip("/")
        return cls(
            base_url=base_url,
            domain=domain,
            legacy_key=given if given != domain else None,
            client_id=env.required("AUTH0_CLIENT_ID", "the client id of a machine-to-machine app with read:logs"),
            client_secret=env.secret("AUTH0_CLIENT_SECRET"),  # type: ignore[arg-type]  # required=True
        )


def parse_domain(raw: str) -> tuple[str, str]:
    """``(base_url, domain)`` from a tenant domain or a full base URL.

    Host names are case-insensitive, so the domain is lower-cased: it is the checkpoint's key,
    and ``Example.EU.auth0.com`` must find the checkpoint ``example.eu.auth0.com`` left.
    Credentials (``user:pw@``) are refused and never repeated in the error.

    >>> parse_domain("example.eu.auth0.com")
    ('https://example.eu.auth0.com', 'example.eu.auth0.com')
    >>> parse_domain("Example.EU.Auth0.com")
    ('https://example.eu.auth0.com', 'example.eu.auth0.com')
    >>> parse_domain("http://127.0.0.1:8080/")
    ('http://127.0.0.1:8080', '127.0.0.1:8080')
    >>> parse_domain("https://admin:hunter2@example.eu.auth0.com")
    Traceback (most recent call last):
    ...
    auth0_webhooks.errors.ConfigError: AUTH0_DOMAIN must be a tenant domain without user:password@; got 'https://***@example.eu.auth0.com'
    """
    allowed = "a tenant domain such as example.eu.auth0.com, or a base URL such as http://127.0.0.1:8080"
    shown = _USERINFO.sub(r"\1***@", raw)
    if "@" in raw:
        raise ConfigError("AUTH0_DOMAIN", "a tenant domain without user:password@", got=shown)
    raw = raw.lower()
    if "://" not in raw:
        if not _DOMAIN.match(raw):
            raise ConfigError("AUTH0_DOMAIN", allowed, got=shown)
        return f"https://{raw}", raw
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:  # a bad port, a broken [IPv6] host
        raise ConfigError("AUTH0_DOMAIN", allowed, got=shown) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError("AUTH0_DOMAIN", allowed, got=shown)
    return f"{parts.scheme}://{parts.netloc}", parts.netloc


def check_url(name: str, url: str, allowed: str) -> None:
    """Refuse a URL that ``requests`` would only reject at the first call (a bad port, a broken IPv6 host).

    The URL is not repeated: its path or query may hold a token.

    >>> check_url("WEBHOOK_URL", "https://[::1:443/hook", "an https:// URL")
    Traceback (most recent call last):
    ...
    auth0_webhooks.errors.ConfigError: WEBHOOK_URL must be an https:// URL (a host and, if any, a port from 1 to 65535)
    """
    problem = f"{allowed} (a host and, if any, a port from 1 to 65535)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(name, problem) from None
    if not parts.hostname or port == 0 or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise ConfigError(name, problem)


def check_header_value(name: str, value: str) -> None:
    """Refuse a header value HTTP cannot carry: outside Latin-1, or holding control characters or CR/LF.

    Says where the bad character is, never the value (a secret).

    >>> try:
    ...     check_header_value("WEBHOOK_AUTHORIZATION", "Bearer \u20acuro")
    ... except ConfigError as error:
    ...     print(str(error).split("(", 1)[1])
    character 8 is not Latin-1; straight quotes, not curly ones)
    """
    for position, char in enumerate(value, start=1):
        if ord(char) > 255:
            reason = f"character {position} is not Latin-1; straight quotes, not curly ones"
        elif (ord(char) < 32 and char != "\t") or ord(char) == 127:
            reason = f"character {position} is a control character or line break"
        else:
            continue
        raise ConfigError(
            name,
            f"a value an HTTP header can carry: Latin-1 characters, no control characters or line breaks ({reason})",
        )


@dataclass(frozen=True)
class SlackSettings:
    url: Secret | None
    send_success: bool

    @classmethod
    def from_env(cls, env: Env) -> SlackSettings:
        url = env.secret("SLACK_INCOMING_WEBHOOK_URL", required=False)
        if url is not None and not url.reveal().startswith(("https://", "http://")):
            raise ConfigError("SLACK_INCOMING_WEBHOOK_URL", "an http(s) URL of a Slack incoming webhook")
        if url is not None:
            check_url("SLACK_INCOMING_WEBHOOK_URL", url.reveal(), "an http(s) URL of a Slack incoming webhook")
        return cls(url=url, send_success=env.boolean("SLACK_SEND_SUCCESS", False))


@dataclass(frozen=True)
class PollerSettings:
    """Everything the poller reads from its environment."""

    auth0: Auth0Settings
    checkpoint_table: str
    queue_url: str
    dead_letter_queue_url: str
    batch_size: int
    start_from: str | None  # START_FROM as given (stripped): the checkpoint remembers it
    start_point: StartPoint | None  # START_FROM parsed (a duration fixed at the time it was read)
    rate_limit_reserve: float  # RATE_LIMIT_RESERVE: a share of the tenant's bucket left to others
    log_types: frozenset[str]
    min_log_level: int | None
    api_endpoints: tuple[str, ...]
    slack: SlackSettings
    routes_file: Path | None = None  # ROUTES_FILE; None: the default route, from the settings above

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PollerSettings:
        from .ratelimit import parse_reserve  # these import auth0_source, which imports this module
        from .start_points import parse_start_from

        env = Env(environ)
        start_from = env.text("START_FROM")
        start_point = parse_start_from(start_from, datetime.now(UTC)) if start_from is not None else None
        level = env.text("MIN_LOG_LEVEL")
        return cls(
            auth0=Auth0Settings.from_env(env),
            checkpoint_table=env.required("CHECKPOINT_TABLE", "the name of the DynamoDB checkpoint table"),
            queue_url=_queue_url(env, "QUEUE_URL"),
            dead_letter_queue_url=_queue_url(env, "DEAD_LETTER_QUEUE_URL"),
            batch_size=env.integer("BATCH_SIZE", default=100, low=1, high=100),
            start_from=start_from,
            start_point=start_point,
            rate_limit_reserve=parse_reserve(env.text("RATE_LIMIT_RESERVE")),
            log_types=frozenset(env.words("LOG_TYPES", r"[a-z0-9_]+", "Auth0 log type codes such as s,f,scp")),
            min_log_level=None if level is None else env.integer("MIN_LOG_LEVEL", 0, 0, 4),
            api_endpoints=env.words(
                "API_ENDPOINTS", r"[a-z0-9_-]+", "Management API endpoints such as users,connections"
            ),
            slack=SlackSettings.from_env(env),
            routes_file=_routes_file(env),
        )


def _routes_file(env: Env) -> Path | None:
    value = env.text("ROUTES_FILE")
    return Path(value) if value else None


def _queue_url(env: Env, name: str) -> str:
    value = env.required(name, "an SQS queue URL")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(
            name, "an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/name", got=value
        )
    return value


def breaker_thresholds(env: Env) -> Thresholds:
    """The routes' breaker: failures in a row that pause a route, and seconds between probes of a paused one.

    >>> breaker_thresholds(Env({"BREAKER_FAILURES": "3"})).failures_in_a_row
    3
    """
    default = Thresholds()
    failures = env.integer("BREAKER_FAILURES", default=default.failures_in_a_row, low=1, high=1000)
    seconds = env.integer("BREAKER_PROBE_SECONDS", default=int(default.probe_every.total_seconds()), low=0, high=900)
    return replace(default, failures_in_a_row=failures, probe_every=timedelta(seconds=seconds))


@dataclass(frozen=True)
class DelivererSettings:
    """Everything the deliverer reads from its environment."""

    webhook_url: str  # "" with a routes file that sets no default route from it
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
    routes_file: Path | None = None  # ROUTES_FILE: the routes; None: the one route "default" from WEBHOOK_*
    stack_name: str | None = None  # STACK_NAME: the routes' secrets must be under this prefix
    health_table: str | None = None  # CHECKPOINT_TABLE: each route's breaker and delivery record; None: neither
    breaker: Thresholds = field(default_factory=Thresholds)  # BREAKER_FAILURES, BREAKER_PROBE_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DelivererSettings:
        env = Env(environ)
        routes_file = env.text("ROUTES_FILE")
        if routes_file is not None and env.text("WEBHOOK_URL") is None:
            return cls._with_routes_only(env, Path(routes_file))
        url = env.required("WEBHOOK_URL", "the https:// URL of the webhook receiver")
        insecure = env.boolean("ALLOW_INSECURE_WEBHOOK", False)
        check_url("WEBHOOK_URL", url, "an https:// URL")
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
        authorization = env.secret("WEBHOOK_AUTHORIZATION", required=False)
        if authorization is not None:
            check_header_value("WEBHOOK_AUTHORIZATION", authorization.reveal())
        send_as_batch = env.boolean("SEND_AS_BATCH", True)
        concurrency = env.integer("WEBHOOK_CONCURRENT_CALLS", default=5, low=1, high=50)
        timeout = env.number("WEBHOOK_TIMEOUT", default=10.0, low=1, high=300)
        return replace(
            cls._with_routes_only(env, _routes_file(env)),
            webhook_url=url,
            authorization=authorization,
            signing_secret=signing_secret,
            send_as_batch=send_as_batch,
            concurrency=concurrency,
            timeout=timeout,
        )

    @classmethod
    def _with_routes_only(cls, env: Env, routes_file: Path | None) -> DelivererSettings:
        """The settings when the routes file describes every destination (no WEBHOOK_* needed), and
        what every deliverer reads besides its default webhook."""
        return cls(
            webhook_url="",
            authorization=None,
            signing_secret=None,
            send_as_batch=True,
            concurrency=1,
            timeout=0.0,
            queue_url=_queue_url(env, "QUEUE_URL"),
            dead_letter_queue_url=_queue_url(env, "DEAD_LETTER_QUEUE_URL"),
            max_receive_count=env.integer("MAX_RECEIVE_COUNT", default=5, low=1, high=1000),
            retry_base_seconds=env.integer("RETRY_BASE_SECONDS", default=30, low=1, high=3600),
            retry_max_seconds=env.integer("RETRY_MAX_SECONDS", default=900, low=1, high=43200),
            slack=SlackSettings.from_env(env),
            routes_file=routes_file,
            stack_name=env.text("STACK_NAME"),
            health_table=env.text("CHECKPOINT_TABLE"),
            breaker=breaker_thresholds(env),
        )

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in an alert or a log line."""
        values = [self.authorization, self.signing_secret, self.slack.url]
        return tuple(secret.reveal() for secret in values if secret is not None)
