"""What the functions did: the library's own run results, summed.

The poller's handler returns its :class:`~auth0_webhooks.poller.RunResult` (as a dict); the
deliverer's handler returns only the SQS response, so what it delivered, retried, dead-lettered
and held is read where an operator reads it: each route's delivery record in the checkpoint
table (``route#<id>``, :mod:`auth0_webhooks.health.record`), which ``auth0-webhooks status``
shows (:class:`RouteRecords`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auth0_webhooks.deliverer import DeliveryStats
from auth0_webhooks.poller import RunResult

from ..aws import Stack
from .parts import Parts


def add_counts(total: Any, part: Any) -> None:
    """Add every int or float field of dataclass ``part`` to the same field of ``total``.

    >>> total = RunResult(checkpoint=None, read=2)
    >>> add_counts(total, RunResult(checkpoint="x", read=3, kept=1))
    >>> total.read, total.kept, total.checkpoint
    (5, 1, None)
    """
    for item in dataclasses.fields(part):
        value = getattr(part, item.name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            setattr(total, item.name, getattr(total, item.name) + value)


def run_result(summary: Mapping[str, Any]) -> RunResult:
    """The poller handler's return value as the RunResult it was made from (unknown keys ignored)."""
    names = {item.name for item in dataclasses.fields(RunResult)}
    return RunResult(**{key: value for key, value in summary.items() if key in names})


@dataclasses.dataclass
class Tally:
    """The poller's and the deliverer's results summed, and the errors seen; thread-safe."""

    poller: RunResult = dataclasses.field(default_factory=lambda: RunResult(checkpoint=None))
    poller_runs: int = 0
    stopped: Counter[str] = dataclasses.field(default_factory=Counter)
    deliverer: DeliveryStats = dataclasses.field(default_factory=DeliveryStats)
    invocations: int = 0
    errors: Counter[str] = dataclasses.field(default_factory=Counter)  # "poller: …" / "deliverer: …"
    deliveries: Callable[[], DeliveryStats] | None = None  # the deliverer's counts so far (RouteRecords.read)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add_run(self, summary: Mapping[str, Any]) -> RunResult:
        result = run_result(summary)
        with self.lock:
            self.poller_runs += 1
            add_counts(self.poller, result)
            self.stopped[result.stopped] += 1
            self.poller.checkpoint = result.checkpoint or self.poller.checkpoint
        return result

    def add_invocation(self) -> None:
        with self.lock:
            self.invocations += 1

    def refresh(self) -> str:
        """Read the deliverer's counts again: "" if read, else why not (the last counts stay)."""
        if self.deliveries is None:
            return ""
        try:
            stats = self.deliveries()
        except Exception as error:  # moto busy or gone
            return f"could not read the route records ({type(error).__name__})"
        with self.lock:
            self.deliverer = stats
        return ""

    def error(self, where: str, description: str) -> None:
        with self.lock:
            self.errors[f"{where}: {description}"] += 1

    @property
    def dead_lettered(self) -> int:
        return self.poller.dead_lettered + self.deliverer.dead_lettered


@dataclasses.dataclass
class RouteRecords:
    """The deliverer's counts, summed over the routes' delivery records (what ``auth0-webhooks status`` shows)."""

    stack: Stack
    routes: Sequence[str]
    _store: Any = dataclasses.field(default=None, repr=False)

    def read(self) -> DeliveryStats:
        from auth0_webhooks.health.record import RecordStore

        if self._store is None:
            self._store = RecordStore(self.stack.client("dynamodb"), self.stack.table)
        total = DeliveryStats()
        for route in self.routes:
            record = self._store.load(route)
            counts = DeliveryStats(
                delivered=record.delivered, retried=record.retried, dead_lettered=record.dead_lettered, held=record.held
            )
            add_counts(total, counts)
        return total


def tally_of(parts: Parts) -> Tally:
    """A tally whose deliverer counts are the records of the routes ``parts`` run (``default`` without a file)."""
    routes = [str(route["id"]) for route in parts.routes.data["routes"]] if parts.routes else ["default"]
    return Tally(deliveries=RouteRecords(parts.stack, routes).read)
