"""Time left for a call that cannot be cut once it started: start it only with time to finish it.

A boto3 call cannot be put under :func:`deadline.deadline` (botocore keeps its own connection
pools). So the DynamoDB calls made against an invocation's deadline (a route's breaker and
delivery record, the notification ledger) go through a client whose timeouts and retries end
any one call within :data:`clients.DEADLINE_CALL_SECONDS`, and each is started only when that
much time is left: :func:`ensure` raises :class:`OutOfTime` otherwise, naming what was not done.
The caller takes its safe path and reports it (a WARNING and the ``Shortfalls`` metric).

>>> ensure(lambda: 10.0, 5.0, "route default: the breaker")
>>> ensure(lambda: 1.25, 5.0, "route default: the breaker")
Traceback (most recent call last):
...
auth0_webhooks.budget.OutOfTime: route default: the breaker: 1.2s left, 5s needed
>>> ensure(unlimited, 5.0, "an operator's command")
"""

from __future__ import annotations

import math
from collections.abc import Callable

SecondsLeft = Callable[[], float]


def unlimited() -> float:
    """No deadline: an operator's command, a test."""
    return math.inf


class OutOfTime(RuntimeError):
    """Too little time was left to start a call; the message says what and how much."""


def ensure(seconds_left: SecondsLeft, needed: float, what: str) -> None:
    """Return if at least ``needed`` seconds are left; else raise :class:`OutOfTime`."""
    left = seconds_left()
    if left < needed:
        raise OutOfTime(f"{what}: {left:.1f}s left, {needed:g}s needed")
