"""Latency from a log's ``date`` to its delivery, and what it would be on the deployed schedule.

A scheduled poller adds a wait: a log dated between two runs waits for the next one. Locally
the poller runs every few seconds; deployed, EventBridge runs it every minute (template.yaml's
``Schedule``). So each measured log is split into that wait (its date to the start of the
first poller run after it) and the rest, the pipeline (reading, queueing, delivering), and
the figure for a schedule of ``period`` seconds adds to each log's pipeline time every wait
from 0 to ``period`` in even steps: logs are dated at any moment between two runs alike.
Auth0's own delay before a log can be read from ``/api/v2/logs`` is not in it (a local tenant
has none).

>>> samples = [Sample(age=1.5, wait=1.0), Sample(age=0.8, wait=0.2)]
>>> [round(p, 2) for p in pipeline_seconds(samples)]
[0.5, 0.6]
>>> latency = on_schedule(samples, period=60)
>>> round(latency.median, 1), round(latency.p95, 1)
(30.1, 57.1)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STEPS = 60  # waits per log when modelling a schedule


@dataclass(frozen=True)
class Sample:
    """One delivered log: seconds from its date to its delivery, and how much of it was the schedule's wait."""

    age: float
    wait: float


@dataclass(frozen=True)
class Latency:
    median: float
    p95: float
    logs: int

    def __str__(self) -> str:
        return f"median {self.median:.1f}s, 95th percentile {self.p95:.1f}s ({self.logs:,} logs)"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` from 0 to 1) of ``values``.

    >>> percentile([4, 1, 3, 2], 0.5), percentile([4, 1, 3, 2], 0.95)
    (2, 4)
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarize(values: Sequence[float], logs: int) -> Latency:
    return Latency(percentile(values, 0.5), percentile(values, 0.95), logs)


def sample(date: float, delivered: float, run_starts: Sequence[float]) -> Sample:
    """A log dated ``date`` and delivered at ``delivered``; ``run_starts`` sorted (epoch seconds).

    >>> sample(10.0, 13.0, [5.0, 11.0, 17.0])
    Sample(age=3.0, wait=1.0)
    """
    index = bisect.bisect_left(run_starts, date)
    wait = run_starts[index] - date if index < len(run_starts) else 0.0
    return Sample(delivered - date, min(wait, delivered - date))


def pipeline_seconds(samples: Iterable[Sample]) -> list[float]:
    return [s.age - s.wait for s in samples]


def measured(samples: Sequence[Sample]) -> Latency:
    """The latency as measured, on the schedule the samples were taken with."""
    return summarize([s.age for s in samples], len(samples))


def on_schedule(samples: Sequence[Sample], period: float) -> Latency:
    """The latency had the poller run every ``period`` seconds: each pipeline time plus every wait."""
    waits = [(step + 0.5) * period / STEPS for step in range(STEPS)]
    return summarize([p + w for p in pipeline_seconds(samples) for w in waits], len(samples))
