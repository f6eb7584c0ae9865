"""What the deliverer asks and tells about a route's health during one invocation.

:class:`RouteHealth` puts the breaker (``breaker``) and the delivery record (``record``) behind
the few calls the deliverer makes: :meth:`RouteHealth.admit` before a record's logs go to a
route, :meth:`RouteHealth.sent` after each send, :meth:`RouteHealth.delivered`,
:meth:`RouteHealth.count` for retries, dead letters and holds, and :meth:`RouteHealth.flush`
once at the end. Without a table (``CHECKPOINT_TABLE`` unset) every route is admitted and no
record is kept. A breaker that cannot be read for the races of other invocations
(:class:`~auth0_webhooks.health.breaker.BreakerConflict`) holds the record: it waits, it is not lost.

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

from ..webhook import Outcome
from .breaker import PERMANENT_STATUSES, Admit, Breaker, BreakerConflict, BreakerEvent, Decision, Thresholds
from .record import DeliveryLog, RecordStore

logger = Logger(child=True)

FLUSH_SECONDS = 1.0  # a route's record is not written with less time than this left


def counts(outcome: Outcome) -> bool:
    """Whether an outcome tells of the destination's health (the breaker counts it).

    >>> counts(Outcome.of_status(503)), counts(Outcome.of_status(410)), counts(Outcome.of_status(400))
    (True, True, False)
    """
    return outcome.sent and (outcome.ok or outcome.retryable or outcome.status in PERMANENT_STATUSES)


@dataclass(frozen=True)
class Sent:
    """What one send did to its route's breaker: events for Slack; whether the route is paused after a failure."""

    events: tuple[BreakerEvent, ...] = ()
    paused: bool = False


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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # sends note from worker threads

    @property
    def thresholds(self) -> Thresholds:
        return self.breaker.thresholds if self.breaker is not None else Thresholds()

    @property
    def hold_seconds(self) -> float:
        """How long a held message waits before it is offered again: the probe interval."""
        return self.thresholds.probe_every / timedelta(seconds=1)

    def admit(self, route: str) -> Decision:
        """DELIVER, PROBE or HOLD; a breaker that keeps changing under us holds."""
        if self.breaker is None:
            return Decision(Admit.DELIVER)
        try:
            decision = self.breaker.admit(route)
        except BreakerConflict:
            logger.warning("route breaker busy: the record waits", extra={"route": route})
            decision = Decision(Admit.HOLD)
        if decision.action is not Admit.DELIVER:
            with self._lock:
                self.paused.add(route)
        return decision

    def sent(self, route: str, endpoint: str, outcomes: Sequence[Outcome], probe: bool) -> Sent:
        """Note a record's sends (one outcome each): each failure in the record; one in the breaker.

        The breaker counts one outcome per record (one conditional write, however many sends):
        its first failure that tells of the destination, else a success. A refusal of the logs
        themselves (a 400, a 3xx: dead-lettered at once) says nothing of the destination's health
        and is not counted; 401, 403 and 410 pause the route at once.
        """
        with self._lock:
            for failed in (o for o in outcomes if not o.ok):
                self._log(route, endpoint).failed(_iso(self.now()), failed.status, failed.answer, failed.error)
        counted = [o for o in outcomes if counts(o)]
        outcome = next((o for o in counted if not o.ok), counted[0] if counted else None)
        if self.breaker is None or outcome is None:
            return Sent()
        try:
            events = self.breaker.record(route, outcome, probe)
            paused = not outcome.ok and self.breaker.state(route).paused
        except BreakerConflict:
            logger.warning("route breaker busy: an outcome was not counted", extra={"route": route})
            return Sent()
        with self._lock:
            if paused:
                self.paused.add(route)
            if any(event.kind == "resumed" for event in events):
                self.paused.discard(route)
        return Sent(events, paused)

    def delivered(self, route: str, endpoint: str, newest_log_id: str, latency_ms: int, logs: int) -> None:
        with self._lock:
            self._log(route, endpoint).succeeded(_iso(self.now()), newest_log_id, latency_ms, logs)

    def count(self, route: str, endpoint: str, retried: int = 0, dead_lettered: int = 0, held: int = 0) -> None:
        with self._lock:
            log = self._log(route, endpoint)
            log.retried += retried
            log.dead_lettered += dead_lettered
            log.held += held

    def flush(self, time_left: Callable[[], float]) -> None:
        """Write each route's record once; no time or a failed write is a WARNING, never an error."""
        if self.records is None:
            return
        for route, log in self.logs.items():
            if time_left() < FLUSH_SECONDS:
                logger.warning("delivery record not written: no time left", extra={"route": route})
                continue
            try:
                self.records.flush(route, log)
            except Exception as error:  # the logs' fate is settled; only the record misses this invocation
                logger.warning("delivery record not written", extra={"route": route, "error": type(error).__name__})

    def _log(self, route: str, endpoint: str) -> DeliveryLog:
        return self.logs.setdefault(route, DeliveryLog(host=endpoint))
