"""What ``auth0-webhooks status`` reports: the poller, each route and the queues, with a verdict each.

:func:`gather` reads the checkpoint table (checkpoint items, and each ``route#<id>`` item's
breaker and delivery record) and the queues' ``ApproximateNumberOfMessages*``; the verdicts
are plain words (``healthy``, ``paused since 10:42: HTTP 503``, ``poller 14 min behind``).

>>> minutes_between("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, 14, tzinfo=UTC))
14
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..health.breaker import BreakerStore
from ..health.record import RecordStore

ROUTE_PREFIX = "route#"
POLLER_BEHIND_MINUTES = 10  # newest log enqueued longer ago than this: "behind"
POLLER_IDLE_MINUTES = 5  # no successful run for longer than this: "has not run"
ROUTE_SILENT_MINUTES = 15  # no delivery for longer than this while logs wait
RECENT_ERRORS = 3
QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def minutes_between(earlier: str | None, now: datetime) -> int | None:
    moment = _when(earlier)
    return None if moment is None else max(0, int((now - moment).total_seconds() // 60))  # clocks may differ


def _clock(value: str | None) -> str:
    moment = _when(value)
    return moment.strftime("%H:%M") if moment else "?"


@dataclass(frozen=True)
class PollerStatus:
    key: str
    checkpoint: str | None
    checkpoint_age_min: int | None
    behind_min: int | None
    last_run: str | None
    verdict: str


@dataclass(frozen=True)
class QueueStatus:
    waiting: int
    in_flight: int
    delayed: int
    dead_letters: int
    verdict: str


@dataclass(frozen=True)
class RouteStatus:
    route: str
    state: str
    since: str | None
    last_success: str | None
    last_status: int | None
    recent_errors: tuple[str, ...]
    delivered: int
    retried: int
    dead_lettered: int
    verdict: str
    host: str | None = None  # where the route sends, once its record has it
    held: int = 0


@dataclass(frozen=True)
class StackStatus:
    at: str
    pollers: tuple[PollerStatus, ...]
    routes: tuple[RouteStatus, ...]
    queue: QueueStatus

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def healthy(self) -> bool:
        verdicts = [p.verdict for p in self.pollers] + [r.verdict for r in self.routes] + [self.queue.verdict]
        return all(verdict == "healthy" for verdict in verdicts)


def poller_status(key: str, item: dict[str, Any], now: datetime) -> PollerStatus:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    behind = minutes_between(text("newest_log_date"), now)
    idle = minutes_between(text("last_success_at"), now)
    if idle is None or idle > POLLER_IDLE_MINUTES:
        verdict = "poller has never run" if idle is None else f"poller has not run for {idle} min"
    elif behind is not None and behind > POLLER_BEHIND_MINUTES:
        verdict = f"poller {behind} min behind"
    else:
        verdict = "healthy"
    return PollerStatus(
        key, text("log_id"), minutes_between(text("updated_at"), now), behind, text("last_success_at"), verdict
    )


def route_status(route: str, breaker: BreakerStore, records: RecordStore, waiting: int, now: datetime) -> RouteStatus:
    state = breaker.load(route)
    record = records.load(route)
    host = host_of(record.host)
    last_success = record.last_success.at if record.last_success else None
    if state.paused:
        who = "by an operator " if state.manual else ""
        status = f"HTTP {state.last_status}" if state.last_status else (state.last_error or "no answer")
        where = f" from {host}" if host else ""
        verdict = f"paused {who}since {_clock(state.opened_at)}: {status}{where}"
    else:
        silent = minutes_between(last_success, now)
        if waiting and (silent is None or silent > ROUTE_SILENT_MINUTES):
            since = "ever" if silent is None else f"{silent} min"
            verdict = f"no delivery for {since} while {waiting} messages wait"
        else:
            verdict = "healthy"
    recent = record.failures[:RECENT_ERRORS]
    errors = tuple(f"{_clock(f.at)} {f.error or f'HTTP {f.status}'}" for f in recent)
    return RouteStatus(
        route,
        state.state,
        state.opened_at,
        last_success,
        state.last_status,
        errors,
        record.delivered,
        record.retried,
        record.dead_lettered,
        verdict,
        host,
        record.held,
    )


def host_of(endpoint: str | None) -> str | None:
    """The host (and port) of a record's ``scheme://host/…``.

    >>> host_of("https://hooks.example.com/…"), host_of("eventbridge://auth0-logs"), host_of(None)
    ('hooks.example.com', 'auth0-logs', None)
    """
    return (urlsplit(endpoint).netloc or endpoint) if endpoint else None


def _depth(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_ATTRIBUTES))["Attributes"]
    return {name: int(attributes.get(name, 0)) for name in QUEUE_ATTRIBUTES}


def table_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of the checkpoint table (pollers' checkpoints, routes' breakers and records), read consistently."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += page.get("Items", [])
    return items


def route_ids(items: list[dict[str, Any]]) -> list[str]:
    """The routes the table holds an item for (a breaker or a delivery record), sorted.

    >>> route_ids([{"pk": {"S": "route#siem"}}, {"pk": {"S": "tenant.example"}}, {"pk": {"S": "route#archive"}}])
    ['archive', 'siem']
    """
    keys = (item["pk"]["S"] for item in items)
    return sorted(key.removeprefix(ROUTE_PREFIX) for key in keys if key.startswith(ROUTE_PREFIX))


def routes_status(dynamodb: Any, table: str, routes: list[str], waiting: int, now: datetime) -> tuple[RouteStatus, ...]:
    """Each route's breaker, record and verdict (``waiting``: messages in the main queue)."""
    breaker, records = BreakerStore(dynamodb, table), RecordStore(dynamodb, table)
    return tuple(route_status(route, breaker, records, waiting, now) for route in routes)


def gather(
    dynamodb: Any, sqs: Any, table: str, queue_url: str, dead_letter_queue_url: str, now: datetime
) -> StackStatus:
    """Everything ``status`` shows, read once."""
    items = table_items(dynamodb, table)
    main, dead = _depth(sqs, queue_url), _depth(sqs, dead_letter_queue_url)
    waiting = main["ApproximateNumberOfMessages"] + main["ApproximateNumberOfMessagesDelayed"]
    dead_letters = sum(dead.values())
    queue = QueueStatus(
        main["ApproximateNumberOfMessages"],
        main["ApproximateNumberOfMessagesNotVisible"],
        main["ApproximateNumberOfMessagesDelayed"],
        dead_letters,
        f"{dead_letters} dead letters: see `auth0-webhooks redrive`" if dead_letters else "healthy",
    )
    pollers = tuple(
        poller_status(item["pk"]["S"], item, now)
        for item in sorted(items, key=lambda i: i["pk"]["S"])
        if not item["pk"]["S"].startswith(ROUTE_PREFIX) and "log_id" in item
    )
    routes = routes_status(dynamodb, table, route_ids(items), waiting, now)
    at = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return StackStatus(at, pollers, routes, queue)


def render(status: StackStatus) -> str:
    """The plain-text view: one line per part, its verdict last."""
    lines = [f"auth0-webhooks status at {status.at}", ""]
    for p in status.pollers:
        age = "" if p.checkpoint_age_min is None else f", moved {p.checkpoint_age_min} min ago"
        lines.append(f"poller {p.key:<28} checkpoint {p.checkpoint or '-'}{age}  →  {p.verdict}")
    if not status.pollers:
        lines.append("poller: no checkpoint yet  →  poller has never run")
    for r in status.routes:
        counts = f"delivered {r.delivered}, retried {r.retried}, dead-lettered {r.dead_lettered}, held {r.held}"
        success = f"last success {r.last_success or 'never'}"
        lines.append(f"route  {r.route:<28} {r.state:<9} {success}; {counts}  →  {r.verdict}")
        lines += [f"         {error}" for error in r.recent_errors]
    q = status.queue
    lines.append(
        f"queue  waiting {q.waiting}, in flight {q.in_flight}, delayed {q.delayed}; dead letters {q.dead_letters}"
        f"  →  {q.verdict}"
    )
    return "\n".join(lines)
