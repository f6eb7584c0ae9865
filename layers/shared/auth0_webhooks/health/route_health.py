"""What the deliverer asks and tells about a route's health during one invocation.

:class:`RouteHealth` puts the breaker (``breaker``) and the delivery record (``record``) behind
the few calls the deliverer makes: :meth:`RouteHealth.admit` before a record's logs go to a
route, :meth:`RouteHealth.sent` after each send, :meth:`RouteHealth.delivered`,
:meth:`RouteHealth.count` for retries, dead letters and holds, and :meth:`RouteHealth.flush`
once at the end. Without a table (``CHECKPOINT_TABLE`` unset) every route is admitted and no
record is kept. A breaker that cannot be read for the races of other invocations
(:class:`~auth0_webhooks.health.breaker.BreakerConflict`) holds the record: it waits, it is not lost.

The breaker costs next to nothing, like the record: a route's breaker is read once per
invocation (its first record's admit) and that state is reused for the invocation's other
records of the route; only a change this invocation makes (the probe lease, a reminder, a
pause) is written at once, conditionally, and then reused. Outcomes that cannot pause the
route (a success, a failure short of every threshold) are kept in memory and written in one
conditional update by :meth:`RouteHealth.flush`; a failure that would pause the route,
counted with the invocation's earlier outcomes (failures in a row, a 401/403/410, the
window's ratio), is written at once, so the invocation's remaining records of the route are
held, not sent. A probe's outcome is written at once (its lease). The trade-off: a route
paused by another invocation meanwhile is seen at this deliverer's next invocation, so one
more batch (at most ``BatchSize`` records) may still be sent to it; and counts another
invocation wrote meanwhile are met at the flush, which then pauses the route if they add up.
A route's calls are made one at a time (a lock per route), so two records of one invocation
never both pause (or resume) it, and announce it twice.

Every call takes the time left (``seconds_left``): a breaker or record call is not started
without ``breaker.CALL_SECONDS`` of it. Then the safe path: a breaker not asked holds the record
(it waits, attempts unchanged, and the route is not counted as paused); outcomes not told are
not counted; a record not written misses those counts. Each of these, and each conflict or
failed write, is a WARNING and one more :attr:`RouteHealth.shortfalls` (metric ``Shortfalls``).

>>> health = RouteHealth(None, None)
>>> health.admit("default").action.value
'deliver'
>>> health.count("default", "https://hooks.example.com/…", held=3)
>>> health.logs["default"].held, health.logs["default"].host
(3, 'https://hooks.example.com/…')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from ..budget import OutOfTime, SecondsLeft, unlimited
from ..webhook import Outcome
from .breaker import (
    CALL_SECONDS,
    PERMANENT_STATUSES,
    Admit,
    Breaker,
    BreakerConflict,
    BreakerEvent,
    BreakerState,
    Decision,
    Thresholds,
    Told,
)
from .record import DeliveryLog, RecordStore

logger = Logger(child=True)

FLUSH_SECONDS = CALL_SECONDS  # a route's record is not written with less time than this left


def counts(outcome: Outcome) -> bool:
    """Whether an outcome tells of the destination's health (the breaker counts it).

    Only the destination's own answers do: a notification's Auth0 look-up, ledger or template
    (cause ``upstream`` or ``local``) says nothing of SES's or Slack's health.

    >>> counts(Outcome.of_status(503)), counts(Outcome.of_status(410)), counts(Outcome.of_status(400))
    (True, True, False)
    >>> counts(Outcome(False, True, None, "user look-up rate limited (429)", cause="upstream"))
    False
    >>> counts(Outcome(False, True, None, "the ledger is unavailable", cause="local"))
    False
    """
    if outcome.cause != "destination":
        return False
    return outcome.sent and (outcome.ok or outcome.retryable or outcome.status in PERMANENT_STATUSES)


def event_text(event: BreakerEvent, where: str, waiting: int, answers_in_http: bool = True) -> str:
    """The Slack line of a breaker event: where the route sends (a webhook's host, or "SES as …").

    A destination that does not answer in HTTP statuses (SES, through its API's error codes) is
    named with its last error, never as "no answer":

    >>> event = BreakerEvent("paused", "pw", "2026-01-01T10:42:00Z", None, "SES refused the message: Throttling")
    >>> event_text(event, "SES as security@acme.test", 3, answers_in_http=False)  # doctest: +NORMALIZE_WHITESPACE
    'Route pw paused since 2026-01-01T10:42:00Z: SES refused the message: Throttling
     (SES as security@acme.test); 3 messages wait'
    >>> event_text(BreakerEvent("paused", "siem", "2026-01-01T10:42:00Z", 503, ""), "hooks.example.com", 12)
    'Route siem paused since 2026-01-01T10:42:00Z: HTTP 503 from hooks.example.com; 12 messages wait'
    """
    if answers_in_http or event.kind == "resumed" or event.last_status or not event.last_error:
        return event.text(where, waiting)
    head = "paused" if event.kind == "paused" else "still paused"
    return f"Route {event.route} {head} since {event.since}: {event.last_error} ({where}); {waiting} messages wait"


@dataclass(frozen=True)
class Sent:
    """What one send did to its route's breaker: events for Slack; whether the route is paused after a failure."""

    events: tuple[BreakerEvent, ...] = ()
    paused: bool = False


@dataclass
class _Route:
    """One route's breaker in this invocation: the state last read or written; the outcomes not written yet."""

    state: BreakerState | None = None
    untold: list[Told] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RouteHealth:
    """One invocation's view of the routes' breakers and records."""

    breaker: Breaker | None
    records: RecordStore | None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    logs: dict[str, DeliveryLog] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)  # routes seen paused (held or probed) in this invocation
    shortfalls: int = 0  # breaker or record calls not made (no time, a conflict, a failed write): metric Shortfalls
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # sends note from worker threads
    _routes: dict[str, _Route] = field(default_factory=dict, repr=False)

    @property
    def thresholds(self) -> Thresholds:
        return self.breaker.thresholds if self.breaker is not None else Thresholds()

    @property
    def hold_seconds(self) -> float:
        """How long a held message waits before it is offered again: the probe interval."""
        return self.thresholds.probe_every / timedelta(seconds=1)

    def admit(self, route: str, seconds_left: SecondsLeft = unlimited) -> Decision:
        """DELIVER, PROBE or HOLD; a breaker that keeps changing under us, or that there is no time to ask, holds.

        The route's breaker is read by its first admit in the invocation; the next ones reuse
        that state (or the one this invocation wrote since) without a request.
        """
        if self.breaker is None:
            return Decision(Admit.DELIVER)
        view = self._route(route)
        with view.lock:
            try:
                decision = self.breaker.admit(route, seconds_left, known=view.state)
            except BreakerConflict:
                self._fell_short("route breaker busy: the record waits", route)
                decision = Decision(Admit.HOLD)
            except OutOfTime as error:  # not a pause: held so that it waits without spending an attempt
                self._fell_short("route breaker not asked: no time left; the record waits", route, str(error))
                return Decision(Admit.HOLD)
            if decision.state is not None:
                view.state = decision.state
        if decision.action is not Admit.DELIVER:
            with self._lock:
                self.paused.add(route)
        return decision

    def sent(
        self, route: str, endpoint: str, outcomes: Sequence[Outcome], probe: bool, seconds_left: SecondsLeft = unlimited
    ) -> Sent:
        """Note a record's sends (one outcome each): each failure in the record; one in the breaker.

        The breaker counts one outcome per record, however many sends: its first failure that
        tells of the destination, else a success. A refusal of the logs themselves (a 400, a 3xx:
        dead-lettered at once) says nothing of the destination's health and is not counted; 401,
        403 and 410 pause the route at once. The outcome is written now only when it is a probe's
        or would pause the route; else it waits in memory for :meth:`flush`.
        """
        with self._lock:
            for failed in (o for o in outcomes if not o.ok):
                self._log(route, endpoint).failed(_iso(self.now()), failed.status, failed.answer, failed.error)
        counted = [o for o in outcomes if counts(o)]
        outcome = next((o for o in counted if not o.ok), counted[0] if counted else None)
        if self.breaker is None or outcome is None:
            return Sent()
        view = self._route(route)
        with view.lock:
            told = Told(outcome, self.now(), probe)
            events: tuple[BreakerEvent, ...] = ()
            try:
                if self._at_once(route, view, told):
                    view.state, events = self.breaker.apply(route, [*view.untold, told], seconds_left)
                    view.untold.clear()
                else:
                    view.untold.append(told)
            except BreakerConflict:
                self._fell_short("route breaker busy: an outcome was not counted", route)
                return Sent()
            except OutOfTime as error:
                self._fell_short("route breaker not told: no time left; an outcome was not counted", route, str(error))
                return Sent()
            paused = not outcome.ok and view.state is not None and view.state.paused
        with self._lock:
            if paused:
                self.paused.add(route)
            if any(event.kind == "resumed" for event in events):
                self.paused.discard(route)
        return Sent(events, paused)

    def _at_once(self, route: str, view: _Route, told: Told) -> bool:
        """Whether ``told`` must be written at once: a probe's, or a failure that pauses the route it found closed."""
        assert self.breaker is not None
        if told.probe or view.state is None:
            return True
        if told.outcome.ok or view.state.paused:
            return False
        return self.breaker.fold(route, view.state, [*view.untold, told])[0].paused

    def delivered(self, route: str, endpoint: str, newest_log_id: str, latency_ms: int, logs: int) -> None:
        with self._lock:
            self._log(route, endpoint).succeeded(_iso(self.now()), newest_log_id, latency_ms, logs)

    def count(self, route: str, endpoint: str, retried: int = 0, dead_lettered: int = 0, held: int = 0) -> None:
        with self._lock:
            log = self._log(route, endpoint)
            log.retried += retried
            log.dead_lettered += dead_lettered
            log.held += held

    def flush(self, time_left: Callable[[], float]) -> tuple[BreakerEvent, ...]:
        """Write each route's untold outcomes, then its record, once; returns the transitions for Slack.

        No time or a failed write is a WARNING and a shortfall, never an error.
        """
        events: list[BreakerEvent] = []
        if self.breaker is not None:
            for route, view in self._routes.items():
                with view.lock:
                    if view.untold:
                        events += self._tell(route, view, time_left)
        if self.records is None:
            return tuple(events)
        for route, log in self.logs.items():
            if log.empty:
                continue
            if time_left() < FLUSH_SECONDS:
                self._fell_short("delivery record not written: no time left", route)
                continue
            try:
                self.records.flush(route, log, time_left)
            except Exception as error:  # the logs' fate is settled; only the record misses this invocation
                self._fell_short("delivery record not written", route, type(error).__name__)
        return tuple(events)

    def _tell(self, route: str, view: _Route, time_left: Callable[[], float]) -> tuple[BreakerEvent, ...]:
        """The route's untold outcomes in one conditional write (the caller holds ``view.lock``)."""
        assert self.breaker is not None
        try:
            view.state, events = self.breaker.apply(route, view.untold, time_left)
        except BreakerConflict:
            self._fell_short("route breaker busy: outcomes were not counted", route)
            return ()
        except OutOfTime as error:
            self._fell_short("route breaker not told: no time left; an outcome was not counted", route, str(error))
            return ()
        except Exception as error:  # the logs' fate is settled; only the counts miss this invocation
            self._fell_short("route breaker not told: outcomes were not counted", route, type(error).__name__)
            return ()
        finally:
            view.untold.clear()
        if view.state.paused:
            with self._lock:
                self.paused.add(route)
        return events

    def _fell_short(self, what: str, route: str, error: str = "") -> None:
        """A WARNING (the route and why; never a log's content) and one more shortfall."""
        logger.warning(what, extra={"route": route, **({"error": error} if error else {})})
        with self._lock:
            self.shortfalls += 1

    def _route(self, route: str) -> _Route:
        with self._lock:
            return self._routes.setdefault(route, _Route())

    def _log(self, route: str, endpoint: str) -> DeliveryLog:
        return self.logs.setdefault(route, DeliveryLog(host=endpoint))
