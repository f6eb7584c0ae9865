"""The ``email`` and ``slack`` destinations of the deliverer: one :class:`Notifier` call per log.

:class:`NotifySender` has what :class:`auth0_webhooks.destinations.Destination` asks for. It sends
one notification per ``log_id`` (copies of a log in one record share its outcome) and turns the
notifier's outcome into the deliverer's:

- ``sent``, ``duplicate``, ``skipped``: delivered (the notifier logs why it skipped);
- ``held`` (the per-recipient limit): delivered, never retried; the notifier logs it at WARNING
  as held back, with the route and log id;
- ``wait`` (Auth0's user look-up said try later): not sent, cause ``upstream``: the deliverer puts
  the log back for ``retry_after`` seconds (at most SQS's 900) without spending an attempt;
- ``retry``: retryable, after ``retry_after`` seconds (the queue's retries end in its dead-letter queue);
- ``failed``: permanent: the deliverer dead-letters the log with the route and the reason.

Only SES's or Slack's own answers have cause ``destination`` and count in the route's breaker; a
look-up's, the ledger's or a template's trouble says nothing of the destination's health. Each
outcome is counted under its metric (:data:`~.notifier.METRICS`) for the deliverer to take once
an invocation (:meth:`NotifySender.take_counts`).

What the notifiers of a container share (:class:`NotifyParts`: templates, user look-ups with their
cache, the ledger, SES) is read from the environment once, only when a route has such a destination:
``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET`` (or ``_ARN``; the application needs
``read:users``), ``CHECKPOINT_TABLE`` (the ledger) and ``TEMPLATES_DIR`` (default: ``templates/``
beside ``ROUTES_FILE``). Importing this module imports ``liquid``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import requests

from ..errors import ConfigError
from ..log_entry import LogEntry, log_id
from ..pace import Pace
from ..routes.model import EmailDestination, Route, SlackDestination
from ..webhook import NOT_SENT, CauseOf, Outcome
from . import destinations as notify_destinations
from .ledger import Ledger
from .notifier import MIN_SECONDS_LEFT, NO_TIME_TO_RECORD, Notifier
from .notifier import Outcome as NotifyOutcome
from .recipients import UserDirectory
from .ses import SesMailer
from .templates import TemplateStore

DEFAULT_CONCURRENCY = 4  # notifications of one route in flight at once (look-ups share the tenant's rate limit)
SLACK_SHOWN_AS = "the Slack channel"


@dataclass(frozen=True)
class NotifyParts:
    """What every notifying route of a container shares."""

    templates: TemplateStore
    users: UserDirectory
    ledger: Ledger
    session: requests.Session
    mailer: SesMailer
    tenant: str


@dataclass
class NotifySender:
    """An ``email`` or ``slack`` route: one notification per log, through ``notifier``."""

    route_id: str
    kind: str  # "email" or "slack"
    target: notify_destinations.Destination
    parts: Callable[[], NotifyParts]  # the container's shared parts (built once, on the first send)
    concurrency: int = DEFAULT_CONCURRENCY
    pace: Pace | None = None
    timeout_setting: str = "the deliverer's Timeout (a notification takes up to 8 s)"
    clock: Callable[[], float] = time.monotonic
    shortfalls: int = 0  # notifications whose ledger was not written as it should have been (see take_shortfalls)
    counts: Counter[str] = field(default_factory=Counter)  # metric name -> notifications (see take_counts)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def endpoint(self) -> str:
        return f"{self.kind}://template/{self.target.template}"

    @property
    def shown_as(self) -> str:
        """Where the route's notifications go, for a breaker's alert: SES and its sender, or Slack.

        >>> from auth0_webhooks.notify.destinations import EmailDestination
        >>> sender = NotifySender("pw", "email", EmailDestination("t", "Acme <security@acme.test>"), lambda: None)
        >>> sender.shown_as, sender.endpoint
        ('SES as Acme <security@acme.test>', 'email://template/t')
        """
        if isinstance(self.target, notify_destinations.EmailDestination):
            return f"SES as {self.target.sender}"
        return SLACK_SHOWN_AS

    @property
    def timeout(self) -> float:
        return MIN_SECONDS_LEFT

    def groups(self, logs: Sequence[LogEntry]) -> list[list[LogEntry]]:
        groups: dict[str, list[LogEntry]] = {}
        for entry in logs:
            groups.setdefault(log_id(entry) or "", []).append(entry)
        return list(groups.values())

    def send(
        self, logs: Sequence[LogEntry], seconds_left: float, replayed: bool = False
    ) -> list[tuple[LogEntry, Outcome]]:
        until = self.clock() + seconds_left
        result = self.notifier().notify(self.route_id, logs[0], lambda: until - self.clock())
        with self._lock:
            self.shortfalls += result.shortfall
            self.counts[result.metric] += 1
        outcome = outcome_of(result)
        return [(entry, outcome) for entry in logs]

    def take_shortfalls(self) -> int:
        """The shortfalls noted since the last take (the deliverer takes them once per invocation)."""
        with self._lock:
            taken, self.shortfalls = self.shortfalls, 0
        return taken

    def take_counts(self) -> dict[str, int]:
        """The notifications counted per metric since the last take (taken once per invocation)."""
        with self._lock:
            taken, self.counts = dict(self.counts), Counter()
        return taken

    def notifier(self) -> Notifier:
        shared = self.parts()
        return Notifier(
            {self.route_id: self.target},
            shared.templates,
            shared.users,
            shared.ledger,
            shared.session,
            shared.mailer,
            shared.tenant,
        )


def outcome_of(result: NotifyOutcome) -> Outcome:
    """The deliverer's outcome for a notifier's.

    >>> outcome_of(NotifyOutcome("held", "limit")).ok, outcome_of(NotifyOutcome("failed", "bad")).retryable
    (True, False)
    >>> later = outcome_of(NotifyOutcome("wait", "user look-up rate limited (429)", 30.0))
    >>> later.retryable, later.retry_after, later.error, later.sent, later.cause
    (True, 30.0, 'user look-up rate limited (429)', False, 'upstream')
    >>> ses = outcome_of(NotifyOutcome("retry", "SES refused the message: Throttling", 60.0, answered=True))
    >>> ses.retryable, ses.cause, outcome_of(NotifyOutcome("retry", "the ledger is unavailable", 1.0)).cause
    (True, 'destination', 'local')
    """
    cause: CauseOf = "destination" if result.answered else "local"
    if result.status in ("sent", "duplicate", "skipped", "held"):
        return Outcome(True, False, cause=cause)
    if result.status == "wait":
        return Outcome(False, True, None, result.reason, result.retry_after or None, sent=False, cause="upstream")
    if result.status == "retry":
        sent = result.reason not in ("too close to the deadline to start", NO_TIME_TO_RECORD)  # nothing was sent
        error = result.reason if sent else NOT_SENT
        return Outcome(False, True, None, error, result.retry_after or None, sent=sent, cause=cause)
    return Outcome(False, False, None, result.reason or "notification failed", cause=cause)


def notify_sender(
    route: Route, secrets: Mapping[str, str], parts: Callable[[], NotifyParts] | None = None
) -> NotifySender:
    """The sender of an ``email`` or ``slack`` route (``parts`` from the environment by default)."""
    target = notify_target(route, secrets)
    shared = parts or parts_from_env
    shared()  # a missing AUTH0_* or CHECKPOINT_TABLE is a ConfigError at cold start, not at the first log
    return NotifySender(route.id, route.destination.type, target, shared)


def notify_target(route: Route, secrets: Mapping[str, str]) -> notify_destinations.Destination:
    """The notifier's view of the route's destination (a Slack URL from the route's secret)."""
    destination = route.destination
    if isinstance(destination, EmailDestination):
        return notify_destinations.EmailDestination(
            destination.template, destination.sender, destination.send_to_unverified
        )
    if isinstance(destination, SlackDestination):
        url = secrets.get("destination.webhook_url_secret", "")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"route {route.id}: destination.webhook_url_secret", "a Slack incoming-webhook URL")
        return notify_destinations.SlackDestination(destination.template, url)
    raise ConfigError(f"route {route.id}: destination.type", "email or slack for a notification")


def templates_dir(environ: Mapping[str, str]) -> Path:
    """``TEMPLATES_DIR``, or ``templates/`` beside ``ROUTES_FILE``.

    >>> templates_dir({"ROUTES_FILE": "/opt/routes.yaml"}).as_posix()
    '/opt/templates'
    >>> templates_dir({"TEMPLATES_DIR": "/srv/mail", "ROUTES_FILE": "/opt/routes.yaml"}).as_posix()
    '/srv/mail'
    """
    explicit = (environ.get("TEMPLATES_DIR") or "").strip()
    if explicit:
        return Path(explicit)
    routes_file = (environ.get("ROUTES_FILE") or "").strip()
    if not routes_file:
        raise ConfigError("TEMPLATES_DIR", "set (or ROUTES_FILE, whose folder holds templates/)")
    return Path(routes_file).parent / "templates"


SETTINGS = (
    "AUTH0_DOMAIN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_CLIENT_SECRET_ARN",
    "CHECKPOINT_TABLE",
    "TEMPLATES_DIR",
    "ROUTES_FILE",
    "AWS_ENDPOINT_URL",
)


def parts_from_env() -> NotifyParts:
    """The shared parts, from ``os.environ``: built once per container (and again if those settings change)."""
    return _parts(tuple((name, os.environ.get(name, "")) for name in SETTINGS))


@cache
def _parts(settings: tuple[tuple[str, str], ...]) -> NotifyParts:
    return build_parts({name: value for name, value in settings if value})


def build_parts(environ: Mapping[str, str]) -> NotifyParts:
    """The shared parts from ``environ``; a missing setting is a :class:`ConfigError` naming it."""
    from .. import clients
    from ..auth0_source import Auth0LogSource
    from ..env import Env
    from ..settings import Auth0Settings

    env = Env(environ)
    auth0 = Auth0Settings.from_env(env)
    table = env.required("CHECKPOINT_TABLE", "the checkpoint table's name (it holds the notification ledger)")
    source = Auth0LogSource(auth0)
    session = clients.http_session(DEFAULT_CONCURRENCY * 2)
    users = UserDirectory(auth0.base_url, lambda: source.token(lambda: MIN_SECONDS_LEFT), session)
    return NotifyParts(
        TemplateStore(templates_dir(environ)),
        users,
        Ledger(clients.dynamodb_within_deadline(), table),  # each call ends within clients.DEADLINE_CALL_SECONDS
        session,
        SesMailer(),
        auth0.domain,
    )
