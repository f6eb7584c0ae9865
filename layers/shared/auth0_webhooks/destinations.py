"""Where a route's logs go: one :class:`Destination` per route, built once per container.

The deliverer asks a destination how to split a record's logs (:meth:`Destination.groups`:
each group is what one :meth:`Destination.send` carries), then calls ``send`` for each group in
its thread pool, at most ``concurrency`` at once for this route and, with ``pace``, at most
``max_per_second`` a second. ``send`` is blocking, ends within the ``seconds_left`` it is given,
and answers one :class:`~auth0_webhooks.webhook.Outcome` per log: the deliverer turns them into
deliveries, retries and dead letters as it does for every destination.

A new destination type plugs in with one class that has the attributes and methods of
:class:`Destination`, and one line in :data:`BUILDERS` that makes it from a route (and the
secrets the route names, read once per container). ``endpoint`` is what alerts and logs may
show of where the logs go (``scheme://host/…``), never a secret.

>>> group = [{"log_id": "900a"}, {"log_id": "900a"}, {"log_id": "900b"}]
>>> [[log["log_id"] for log in g] for g in by_log_id(group)]
[['900a', '900a'], ['900b']]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .log_entry import LogEntry, log_id
from .pace import Pace
from .routes import formats
from .routes.eventbridge import MAX_ENTRIES_PER_CALL, EventsClient, PutSchedule, build_entries, put_entries
from .routes.model import Compression, Format, Route
from .webhook import NOT_SENT, Outcome, WebhookClient

if TYPE_CHECKING:
    from .routes.model import EventBridgeDestination

DUPLICATE_ID = "another log in this message has the same log_id and different content"
DEFAULT_EVENTBRIDGE_CONCURRENCY = 5
EVENTBRIDGE_CALL_SECONDS = 8.0  # the events client's connect (3 s) and read (5 s) timeouts, one attempt
EVENTBRIDGE_SCHEDULE = PutSchedule(min_seconds_left=EVENTBRIDGE_CALL_SECONDS)


REPLAYED_HEADER = "webhook-replayed"  # on every request of a replay (routes check reserves the name)


class Destination(Protocol):
    route_id: str
    concurrency: int  # most sends in flight at once for this route
    timeout_setting: str  # the setting that sets ``timeout``, for a clear error when it leaves no time
    pace: Pace | None  # max_per_second, if any

    @property
    def endpoint(self) -> str:
        """What alerts and logs may show of where it goes (``scheme://host/…``)."""
        ...

    @property
    def timeout(self) -> float:
        """The longest one send may take."""
        ...

    def groups(self, logs: Sequence[LogEntry]) -> list[list[LogEntry]]:
        """The logs of one record, split into what each send carries (every log in exactly one group)."""
        ...

    def send(
        self, logs: Sequence[LogEntry], seconds_left: float, replayed: bool = False
    ) -> list[tuple[LogEntry, Outcome]]:
        """Send one group; one outcome per log; never runs past ``seconds_left``.

        ``replayed``: the logs come from ``auth0-webhooks replay``; a destination that can say so
        does (a webhook sends the header :data:`REPLAYED_HEADER`)."""
        ...


@dataclass
class WebhookSender:
    """A webhook: the route's format, compression, headers and batch size over a signed client."""

    route_id: str
    client: WebhookClient
    format: Format = "array"
    compression: Compression = "none"
    batch_size: int = 100
    headers: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = 5
    pace: Pace | None = None
    timeout_setting: str = "WEBHOOK_TIMEOUT"

    @property
    def endpoint(self) -> str:
        return self.client.endpoint

    @property
    def timeout(self) -> float:
        return self.client.timeout

    @property
    def one_per_body(self) -> bool:
        return self.format in ("object", "logstream-object")

    def groups(self, logs: Sequence[LogEntry]) -> list[list[LogEntry]]:
        if self.one_per_body:  # one POST per log_id: a webhook-id never stands for two bodies
            return by_log_id(logs)
        size = max(1, self.batch_size)
        return [list(logs[start : start + size]) for start in range(0, len(logs), size)]

    def send(
        self, logs: Sequence[LogEntry], seconds_left: float, replayed: bool = False
    ) -> list[tuple[LogEntry, Outcome]]:
        bodies = formats.encode(logs, self.format, self.compression, self.batch_size)
        if self.one_per_body and len({body.content for body in bodies}) > 1:  # copies are sent once
            refused = Outcome(False, False, None, DUPLICATE_ID, sent=False)
            return [(entry, refused) for entry in logs]
        if self.one_per_body:
            bodies = bodies[:1]
        until = time.monotonic() + seconds_left
        outcomes: list[Outcome] = []
        for body in bodies:
            webhook_id = formats.webhook_id(self.route_id, body, self.format)
            headers = {**body.headers, **self.headers, **({REPLAYED_HEADER: "true"} if replayed else {})}
            outcome = self.client.post(webhook_id, body.content, until - time.monotonic(), headers)
            outcomes += [outcome] * (len(logs) if self.one_per_body else len(body.log_ids))
        return list(zip(logs, outcomes, strict=True))


@dataclass
class EventBridgeSender:
    """An EventBridge bus: one event per log; what PutEvents does not take is retried while time is left."""

    route_id: str
    bus: str
    client: EventsClient
    concurrency: int = DEFAULT_EVENTBRIDGE_CONCURRENCY
    pace: Pace | None = None
    schedule: PutSchedule = EVENTBRIDGE_SCHEDULE
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    timeout_setting: str = "the deliverer's Timeout (an EventBridge call takes up to 8 s)"

    @property
    def endpoint(self) -> str:
        return f"eventbridge://{self.bus.rsplit('/', 1)[-1] if self.bus.startswith('arn:') else self.bus}"

    @property
    def timeout(self) -> float:
        return self.schedule.min_seconds_left

    def groups(self, logs: Sequence[LogEntry]) -> list[list[LogEntry]]:
        return [list(logs[start : start + MAX_ENTRIES_PER_CALL]) for start in range(0, len(logs), MAX_ENTRIES_PER_CALL)]

    def send(
        self, logs: Sequence[LogEntry], seconds_left: float, replayed: bool = False
    ) -> list[tuple[LogEntry, Outcome]]:
        until = self.clock() + seconds_left
        entries, too_large = build_entries(logs, self.bus)
        not_put = put_entries(self.client, entries, lambda: until - self.clock(), self.sleep, self.schedule)
        failed: dict[str, Outcome] = {item.log_id: Outcome(False, False, None, item.reason) for item in too_large}
        for item in not_put:
            if item.reason == "deadline":
                failed[item.log_id] = Outcome(False, True, None, NOT_SENT, sent=False)
            else:
                failed[item.log_id] = Outcome(False, True, None, f"PutEvents failed: {item.reason}")
        ok = Outcome(True, False)
        return [(entry, failed.get(log_id(entry) or "", ok)) for entry in logs]


def by_log_id(logs: Sequence[LogEntry]) -> list[list[LogEntry]]:
    """The logs grouped by ``log_id``, in the order each id first appears."""
    groups: dict[str, list[LogEntry]] = {}
    for entry in logs:
        groups.setdefault(log_id(entry) or "", []).append(entry)
    return list(groups.values())


# -- building a destination from a route --------------------------------------------------------------

Secrets = Mapping[str, str]  # a route's secrets by field (destination.signing_secret, …), values read


@dataclass(frozen=True)
class Parts:
    """What destinations are built with: the container's cached clients."""

    http_session: Callable[[int], Any]
    events_client: Callable[[], EventsClient]


def webhook_sender(route: Route, secrets: Secrets, parts: Parts, timeout_setting: str | None = None) -> Destination:
    from .signing import WebhookSigner
    from .webhook import check_header_value

    destination = route.destination
    assert destination.type == "webhook"  # BUILDERS picks by type
    signing = secrets.get("destination.signing_secret")
    authorization = secrets.get("destination.authorization_secret")
    if authorization:
        check_header_value(f"route {route.id}: destination.authorization_secret", authorization)
    headers = {
        name: check_header_value(f"route {route.id}: destination.headers.{name}", value)
        for name, value in destination.headers
    }
    client = WebhookClient(
        destination.url,
        parts.http_session(destination.concurrency),
        destination.timeout,
        authorization,
        WebhookSigner(signing) if signing else None,
    )
    return WebhookSender(
        route.id,
        client,
        destination.format,
        destination.compression,
        destination.batch_size,
        headers,
        destination.concurrency,
        Pace(destination.max_per_second) if destination.max_per_second else None,
        timeout_setting or f"route {route.id}: destination.timeout",
    )


def eventbridge_sender(route: Route, secrets: Secrets, parts: Parts, timeout_setting: str | None = None) -> Destination:
    destination: EventBridgeDestination = route.destination  # type: ignore[assignment]  # BUILDERS picks by type
    return EventBridgeSender(route.id, destination.bus, parts.events_client())


def notify_sender(route: Route, secrets: Secrets, parts: Parts, timeout_setting: str | None = None) -> Destination:
    from .notify.sender import notify_sender as build_notify  # imports liquid: only for such a route

    return build_notify(route, secrets)


Builder = Callable[[Route, Secrets, Parts, "str | None"], Destination]
BUILDERS: Mapping[str, Builder] = {
    "webhook": webhook_sender,
    "eventbridge": eventbridge_sender,
    "slack": notify_sender,  # one Slack message per log, from a template (notify/sender.py)
    "email": notify_sender,  # one e-mail per log to the user it is about
}


def build(route: Route, secrets: Secrets, parts: Parts, timeout_setting: str | None = None) -> Destination:
    """The destination of ``route``."""
    return BUILDERS[route.destination.type](route, secrets, parts, timeout_setting)
