"""What a routes file describes, as typed, frozen values (the loader in ``load.py`` builds them).

>>> ref = SecretRef.parse("/auth0-webhooks/siem-hash-key")
>>> ref.kind, ref.name
('ssm', '/auth0-webhooks/siem-hash-key')
>>> SecretRef.parse("auth0-webhooks/siem-token").kind
'secretsmanager'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SecretKind = Literal["secretsmanager", "ssm"]
Format = Literal["array", "object", "jsonlines", "logstream-array", "logstream-jsonlines", "logstream-object"]
Compression = Literal["none", "gzip"]
FORMAT_ALIASES = {"logstream": "logstream-array"}  # Log Streams' default content format is JSONARRAY

# Defaults of a webhook destination (the same as the deliverer's settings today).
DEFAULT_BATCH_SIZE = 100
DEFAULT_CONCURRENCY = 5
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SecretRef:
    """The name of a secret: a Secrets Manager secret (name or ARN), or an SSM SecureString parameter
    (a name starting with ``/`` or an ``arn:aws:ssm:`` ARN). Never the value."""

    kind: SecretKind
    name: str

    @classmethod
    def parse(cls, reference: str) -> SecretRef:
        is_ssm = reference.startswith(("/", "arn:aws:ssm:"))
        return cls("ssm" if is_ssm else "secretsmanager", reference)

    @property
    def short_name(self) -> str:
        """The name without ARN parts: what a stack prefix is checked against.

        >>> SecretRef.parse("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/key-AbCdEf").short_name
        'stack/key-AbCdEf'
        >>> SecretRef.parse("arn:aws:ssm:eu-west-1:123456789012:parameter/stack/key").short_name
        '/stack/key'
        """
        if self.name.startswith("arn:aws:secretsmanager:"):
            return self.name.split(":secret:", 1)[-1]
        if self.name.startswith("arn:aws:ssm:"):
            return self.name.split(":parameter", 1)[-1]
        return self.name


@dataclass(frozen=True)
class Match:
    """Which logs a route takes. Every given condition must hold; an empty match takes every log."""

    types: frozenset[str] = frozenset()
    exclude_types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    min_level: int | None = None
    api_endpoints: tuple[str, ...] = ()
    client_ids: frozenset[str] = frozenset()
    connections: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Pii:
    """Field paths to hash (HMAC-SHA256 with the key in ``hash_key_secret``), to mask, or to drop."""

    hash: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    hash_key_secret: SecretRef | None = None

    @property
    def empty(self) -> bool:
        return not (self.hash or self.mask or self.drop)


@dataclass(frozen=True)
class WebhookDestination:
    url: str
    authorization_secret: SecretRef | None = None
    signing_secret: SecretRef | None = None
    headers: tuple[tuple[str, str], ...] = ()
    format: Format = "array"
    compression: Compression = "none"
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_per_second: float | None = None
    type: Literal["webhook"] = "webhook"


@dataclass(frozen=True)
class EventBridgeDestination:
    bus: str  # a bus name or ARN
    type: Literal["eventbridge"] = "eventbridge"


@dataclass(frozen=True)
class SlackDestination:
    """One Slack message per log, from ``template``, to the incoming webhook in a secret."""

    webhook_url_secret: SecretRef
    template: str
    type: Literal["slack"] = "slack"


@dataclass(frozen=True)
class EmailDestination:
    """One e-mail per log, from ``template``, to the user the log is about (looked up by user_id)."""

    template: str
    sender: str  # the routes file's ``from``: an SES-verified identity
    send_to_unverified: bool = False
    type: Literal["email"] = "email"


Destination = WebhookDestination | EventBridgeDestination | SlackDestination | EmailDestination


@dataclass(frozen=True)
class Route:
    id: str
    destination: Destination
    match: Match = field(default_factory=Match)
    pii: Pii = field(default_factory=Pii)

    def secrets(self) -> tuple[SecretRef, ...]:
        """Every secret this route needs read (for permissions and the doctor)."""
        refs: list[SecretRef | None] = [self.pii.hash_key_secret]
        if isinstance(self.destination, WebhookDestination):
            refs += [self.destination.authorization_secret, self.destination.signing_secret]
        elif isinstance(self.destination, SlackDestination):
            refs.append(self.destination.webhook_url_secret)
        return tuple(ref for ref in refs if ref is not None)
