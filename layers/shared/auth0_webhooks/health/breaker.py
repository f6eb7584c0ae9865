"""A circuit breaker per route, shared by every deliverer invocation through one DynamoDB item.

Over 300 lines: the state machine and the conditional store that keeps it are one idea.

A caller asks :meth:`Breaker.admit` before each POST and tells :meth:`Breaker.record` how it
went. ``DELIVER``: the route is closed, post. ``PROBE``: the route is paused and this caller
holds the one probe lease: post once, then record with ``probe=True``. ``HOLD``: the route is
paused; requeue the message without spending an attempt (see ``holds``). The deliverer asks
once per invocation and route and passes the state back (``admit(known=...)``), and tells
several outcomes at once (:meth:`Breaker.apply`, :meth:`Breaker.fold`): see ``route_health``.

Every change is a conditional write on the item's ``version``, so concurrent invocations
never both take the probe lease and never lose a count. A route resumes only after a
successful probe, and probes come at most once per ``probe_every``, so a flapping receiver
cannot make the breaker open and close faster than that. Transitions return
:class:`BreakerEvent`\\ s for the caller to send to Slack.

Each read and write (a conflict's retry too) starts only with :data:`CALL_SECONDS` left of the
caller's ``seconds_left`` (``budget.ensure``); else :class:`~auth0_webhooks.budget.OutOfTime`
is raised and the caller takes its safe path (``route_health``).

>>> BreakerState().state
'closed'
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..budget import SecondsLeft, ensure, unlimited
from ..clients import DEADLINE_CALL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ..webhook import Outcome

Clock = Callable[[], datetime]
PERMANENT_STATUSES = frozenset({401, 403, 410})  # answers that pause a route at once
CONFLICT_RETRIES = 8  # conditional-write races retried before giving up
CALL_SECONDS = DEADLINE_CALL_SECONDS  # no read or write of the item starts with less time left


def route_key(route: str) -> str:
    """The DynamoDB key of a route's breaker and record item.

    >>> route_key("default")
    'route#default'
    """
    return f"route#{route}"


@dataclass(frozen=True)
class Thresholds:
    """When a route pauses, and how often a paused route is probed and reported."""

    failures_in_a_row: int = 10
    window: timedelta = timedelta(minutes=5)
    window_min_attempts: int = 20
    window_failure_ratio: float = 0.5  # pause when MORE than this share of the window's attempts failed
    probe_every: timedelta = timedelta(seconds=60)
    probe_lease: timedelta = timedelta(seconds=30)  # a probe not recorded by then may be taken again
    remind_every: timedelta = timedelta(hours=1)


class Admit(enum.Enum):
    DELIVER = "deliver"
    PROBE = "probe"
    HOLD = "hold"


@dataclass(frozen=True)
class BreakerEvent:
    """A transition worth telling people about: ``paused``, ``resumed`` or ``still_paused``."""

    kind: str
    route: str
    since: str | None
    last_status: int | None
    last_error: str

    def text(self, host: str, waiting: int) -> str:
        """The Slack line, given the destination's host and how many messages wait in the queue.

        >>> event = BreakerEvent("paused", "siem", "2026-01-01T10:42:00Z", 503, "")
        >>> event.text("hooks.example.com", 12)
        'Route siem paused since 2026-01-01T10:42:00Z: HTTP 503 from hooks.example.com; 12 messages wait'
        """
        status = f"HTTP {self.last_status}" if self.last_status else "no answer"
        head = {"paused": "paused", "resumed": "resumed", "still_paused": "still paused"}[self.kind]
        if self.kind == "resumed":
            return f"Route {self.route} resumed: {host} answered again; {waiting} messages wait to drain"
        detail = f" (last error: {self.last_error})" if self.last_error else ""
        return f"Route {self.route} {head} since {self.since}: {status} from {host}{detail}; {waiting} messages wait"


@dataclass(frozen=True)
class Decision:
    action: Admit
    events: tuple[BreakerEvent, ...] = ()
    state: BreakerState | None = None  # the route's state after the decision (None: the breaker was not asked)


@dataclass(frozen=True)
class Told:
    """One outcome for the breaker to count: the answer, when it came, and whether it was the probe's."""

    outcome: Outcome
    at: datetime
    probe: bool = False


@dataclass(frozen=True)
class BreakerState:
    """What the item holds (times are ISO strings in UTC)."""

    state: str = "closed"  # closed | open | half_open
    failures_in_a_row: int = 0
    window_start: str | None = None
    window_attempts: int = 0
    window_failures: int = 0
    opened_at: str | None = None
    next_probe_at: str | None = None
    lease_until: str | None = None
    reminded_at: str | None = None
    last_status: int | None = None
    last_error: str = ""
    manual: bool = False  # paused by an operator: no probes until resumed by command
    version: int = 0

    @property
    def paused(self) -> bool:
        return self.state != "closed"


_INT_FIELDS = {"failures_in_a_row", "window_attempts", "window_failures", "last_status", "version"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _saved(written: BreakerState) -> BreakerState:
    """The state as :meth:`BreakerStore.save` stored it (its version moved on by one)."""
    return replace(written, version=written.version + 1)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class BreakerStore:
    """Reads and conditionally writes the breaker attributes of ``{pk: route#<id>}``."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def load(self, route: str, seconds_left: SecondsLeft = unlimited) -> BreakerState:
        ensure(seconds_left, CALL_SECONDS, f"route {route}: reading its breaker")
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": route_key(route)}}, ConsistentRead=True)
        raw = item.get("Item", {})
        values: dict[str, Any] = {}
        for f in fields(BreakerState):
            cell = raw.get(f"breaker_{f.name}")
            if cell is None:
                continue
            if "N" in cell:
                values[f.name] = int(cell["N"])
            elif "BOOL" in cell:
                values[f.name] = cell["BOOL"]
            elif "S" in cell:
                values[f.name] = cell["S"]
        return BreakerState(**values)

    def save(self, route: str, old: BreakerState, new: BreakerState, seconds_left: SecondsLeft = unlimited) -> bool:
        """Write ``new`` if the item is still at ``old.version``; False if someone else moved it."""
        ensure(seconds_left, CALL_SECONDS, f"route {route}: writing its breaker")
        names, values, assignments, removals = {"#v": "breaker_version"}, {":old": {"N": str(old.version)}}, [], []
        for f in fields(BreakerState):
            value = new.version + 1 if f.name == "version" else getattr(new, f.name)
            names[f"#{f.name}"] = f"breaker_{f.name}"
            if value is None or value == "":
                removals.append(f"#{f.name}")
                continue
            if isinstance(value, bool):
                cell: dict[str, Any] = {"BOOL": value}
            elif f.name in _INT_FIELDS:
                cell = {"N": str(value)}
            else:
                cell = {"S": str(value)}
            values[f":{f.name}"] = cell
            assignments.append(f"#{f.name} = :{f.name}")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        condition = "attribute_not_exists(#v) OR #v = :old" if old.version == 0 else "#v = :old"
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": route_key(route)}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class BreakerConflict(RuntimeError):
    """Too many concurrent writers: the caller treats the message as held and tries later."""


class Breaker:
    """The breaker of every route, over one :class:`BreakerStore`, with an injected clock."""

    def __init__(self, store: BreakerStore, thresholds: Thresholds | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.thresholds = thresholds or Thresholds()
        self.clock = clock or (lambda: datetime.now(UTC))

    def state(self, route: str, seconds_left: SecondsLeft = unlimited) -> BreakerState:
        return self.store.load(route, seconds_left)

    def admit(self, route: str, seconds_left: SecondsLeft = unlimited, known: BreakerState | None = None) -> Decision:
        """May this caller post to ``route`` now? Takes the probe lease when a probe is due.

        With ``known`` (the state this caller read or wrote last), a closed route is admitted and
        a paused one held without a request; only a change (the probe lease, a reminder) is
        written, conditionally on ``known``'s version, and a conflict reads the item again.
        The decision's ``state`` is the state after it, for the caller to pass as ``known`` next.
        """
        old = known if known is not None else self.store.load(route, seconds_left)
        for _ in range(CONFLICT_RETRIES):
            if not old.paused:
                return Decision(Admit.DELIVER, state=old)
            now = self.clock()
            new, events, action = old, [], Admit.HOLD
            reminded = _when(old.reminded_at or old.opened_at)
            if reminded and now - reminded >= self.thresholds.remind_every:
                new = replace(new, reminded_at=_iso(now))
                events.append(self._event("still_paused", route, old))
            lease = _when(old.lease_until)
            due = _when(old.next_probe_at)
            if not old.manual and (due is None or now >= due) and (lease is None or now >= lease):
                new = replace(new, state="half_open", lease_until=_iso(now + self.thresholds.probe_lease))
                action = Admit.PROBE
            if new == old:
                return Decision(Admit.HOLD, state=old)
            if self.store.save(route, old, new, seconds_left):
                return Decision(action, tuple(events), _saved(new))
            old = self.store.load(route, seconds_left)
        raise BreakerConflict(f"route {route}: the breaker item kept changing; try again later")

    def record(
        self, route: str, outcome: Outcome, probe: bool = False, seconds_left: SecondsLeft = unlimited
    ) -> tuple[BreakerEvent, ...]:
        """Count one POST's outcome; return the transition it caused, if any."""
        return self.apply(route, [Told(outcome, self.clock(), probe)], seconds_left)[1]

    def apply(
        self, route: str, told: Sequence[Told], seconds_left: SecondsLeft = unlimited
    ) -> tuple[BreakerState, tuple[BreakerEvent, ...]]:
        """Count several outcomes, in order, in one conditional write (read again and redone on a race).

        Returns the state as written and the transitions the outcomes caused.
        """
        for _ in range(CONFLICT_RETRIES):
            old = self.store.load(route, seconds_left)
            new, events = self.fold(route, old, told)
            if new == old:
                return old, events
            if self.store.save(route, old, new, seconds_left):
                return _saved(new), events
        raise BreakerConflict(f"route {route}: the breaker item kept changing; try again later")

    def fold(
        self, route: str, state: BreakerState, told: Sequence[Told]
    ) -> tuple[BreakerState, tuple[BreakerEvent, ...]]:
        """The state after ``told`` (no request): what :meth:`apply` would write over ``state``."""
        events: list[BreakerEvent] = []
        for one in told:
            state, caused = self._next(route, state, one.outcome, one.probe, one.at)
            events += caused
        return state, tuple(events)

    def pause(self, route: str, reason: str = "paused by an operator") -> BreakerState:
        """Pause ``route`` by command: no probes until :meth:`resume`."""
        now = _iso(self.clock())
        return self._force(
            route,
            lambda old: replace(
                old,
                state="open",
                manual=True,
                opened_at=old.opened_at if old.paused else now,
                reminded_at=now,
                last_error=reason,
                lease_until=None,
            ),
        )

    def resume(self, route: str) -> BreakerState:
        """Resume ``route`` by command, with fresh counts."""
        return self._force(route, lambda old: BreakerState(version=old.version, last_status=old.last_status))

    def _force(self, route: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        for _ in range(CONFLICT_RETRIES):
            old = self.store.load(route)
            new = change(old)
            if self.store.save(route, old, new):
                return self.store.load(route)
        raise BreakerConflict(f"route {route}: the breaker item kept changing; try again later")

    def _next(
        self, route: str, old: BreakerState, outcome: Outcome, probe: bool, now: datetime
    ) -> tuple[BreakerState, tuple[BreakerEvent, ...]]:
        t = self.thresholds
        start = _when(old.window_start)
        if start is None or now - start >= t.window:
            old_window = replace(old, window_start=_iso(now), window_attempts=0, window_failures=0)
        else:
            old_window = old
        if outcome.ok:
            if probe and old.paused and not old.manual:
                return BreakerState(version=old.version, last_status=outcome.status), (
                    self._event("resumed", route, old),
                )
            if old.paused:
                return old, ()  # a late delivery admitted before the pause: only a probe resumes
            return replace(old_window, failures_in_a_row=0, window_attempts=old_window.window_attempts + 1), ()
        failed = replace(
            old_window,
            failures_in_a_row=old.failures_in_a_row + 1,
            window_attempts=old_window.window_attempts + 1,
            window_failures=old_window.window_failures + 1,
            last_status=outcome.status,
            last_error=outcome.error[:500],
        )
        if old.paused:
            if not probe:
                return failed, ()
            return replace(failed, state="open", lease_until=None, next_probe_at=_iso(now + t.probe_every)), ()
        permanent = outcome.status in PERMANENT_STATUSES
        too_many = failed.failures_in_a_row >= t.failures_in_a_row
        mostly = (
            failed.window_attempts >= t.window_min_attempts
            and failed.window_failures > t.window_failure_ratio * failed.window_attempts
        )
        if not (permanent or too_many or mostly):
            return failed, ()
        opened = replace(
            failed,
            state="open",
            opened_at=_iso(now),
            reminded_at=_iso(now),
            next_probe_at=_iso(now + t.probe_every),
            lease_until=None,
        )
        return opened, (self._event("paused", route, opened),)

    @staticmethod
    def _event(kind: str, route: str, state: BreakerState) -> BreakerEvent:
        return BreakerEvent(kind, route, state.opened_at, state.last_status, state.last_error)
