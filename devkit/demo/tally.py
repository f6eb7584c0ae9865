"""What the functions did: the library's own run results, summed.

The poller's handler returns its :class:`~auth0_webhooks.poller.RunResult` (as a dict); the
deliverer's handler returns only the SQS response, so its
:class:`~auth0_webhooks.deliverer.DeliveryStats` counters are read back from its one
"deliverer batch done" line, which carries ``stats.metrics()``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from auth0_webhooks.deliverer import DeliveryStats
from auth0_webhooks.poller import RunResult


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


def delivery_stats(fields: Mapping[str, Any]) -> DeliveryStats:
    """A DeliveryStats from the counters ``DeliveryStats.metrics()`` names (as logged by the handler)."""
    stats = DeliveryStats()
    by_metric = {metric: name for name, metric in _METRIC_FIELDS.items()}
    for metric, name in by_metric.items():
        if metric in fields:
            setattr(stats, name, int(fields[metric]))
    return stats


# DeliveryStats field -> the metric name its metrics() gives it (worked out from the class itself)
_METRIC_FIELDS = {
    name: metric
    for name in ("delivered", "failed", "retried", "dead_lettered", "requests")
    for metric, value in DeliveryStats(**{name: 1}).metrics().items()  # type: ignore[arg-type]
    if value == 1
}


@dataclasses.dataclass
class Tally:
    """The poller's and the deliverer's results summed, and the errors seen; thread-safe."""

    poller: RunResult = dataclasses.field(default_factory=lambda: RunResult(checkpoint=None))
    poller_runs: int = 0
    stopped: Counter[str] = dataclasses.field(default_factory=Counter)
    deliverer: DeliveryStats = dataclasses.field(default_factory=DeliveryStats)
    invocations: int = 0
    errors: Counter[str] = dataclasses.field(default_factory=Counter)  # "poller: …" / "deliverer: …"
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add_run(self, summary: Mapping[str, Any]) -> RunResult:
        result = run_result(summary)
        with self.lock:
            self.poller_runs += 1
            add_counts(self.poller, result)
            self.stopped[result.stopped] += 1
            self.poller.checkpoint = result.checkpoint or self.poller.checkpoint
        return result

    def add_batch(self, stats: DeliveryStats) -> None:
        with self.lock:
            self.invocations += 1
            add_counts(self.deliverer, stats)

    def error(self, where: str, description: str) -> None:
        with self.lock:
            self.errors[f"{where}: {description}"] += 1

    @property
    def dead_lettered(self) -> int:
        return self.poller.dead_lettered + self.deliverer.dead_lettered


class BatchLogTap(logging.Handler):
    """Reads the deliverer's "batch done" line, as an operator would read CloudWatch."""

    def __init__(self, tally: Tally) -> None:
        super().__init__(logging.INFO)
        self.tally = tally

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "deliverer batch done":
            self.tally.add_batch(delivery_stats(record.__dict__))
