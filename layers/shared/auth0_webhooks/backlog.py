"""When a poller run is far enough behind to drain its backlog in parallel time slices.

A run reads its first page as always. When that page is full and its newest log was stored more than
:attr:`DrainPolicy.behind_seconds` before now (the time in Auth0's log ids, checked on the page's
first and last log), the span from the checkpoint to now is split into slices read at once
(:mod:`~auth0_webhooks.slices`); otherwise the run reads page after page as before.

>>> from datetime import UTC, datetime
>>> from .log_ids import synthetic_id
>>> def entry(when):
...     return {"log_id": synthetic_id(when)[:-1] + "1", "date": when.isoformat().replace("+00:00", "Z")}
>>> page = [entry(datetime(2026, 11, 1, 9, 0, s, tzinfo=UTC)) for s in range(3)]
>>> behind(page, 3, datetime(2026, 11, 1, 9, 30, tzinfo=UTC), DrainPolicy())
True
>>> behind(page, 3, datetime(2026, 11, 1, 9, 1, tzinfo=UTC), DrainPolicy())  # a minute behind: read on
False
>>> behind(page[:2], 3, datetime(2026, 11, 1, 9, 30, tzinfo=UTC), DrainPolicy())  # a short page: caught up
False
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from .log_entry import log_id
from .log_ids import check_id_shape, id_time

logger = Logger(child=True)


@dataclass(frozen=True)
class DrainPolicy:
    """When to drain in slices, and how many threads at most."""

    behind_seconds: float = 300.0  # a full first page whose newest log is older than this: drain in slices
    max_workers: int = 16  # threads reading slices at once (the limiter decides how fast they go)
    slices_per_worker: int = 4  # more slices than threads, so a busy stretch of time does not hold one thread


def behind(entries: list[Any], take: int, now: datetime, policy: DrainPolicy) -> bool:
    """Whether a first page of ``entries`` (asked for ``take``) says the run is far behind."""
    with_ids = [entry for entry in entries if log_id(entry) is not None]
    if len(entries) < take or not with_ids:
        return False
    newest = id_time(log_id(with_ids[-1]))
    if newest is None or now - newest < timedelta(seconds=policy.behind_seconds):
        return False
    shape = check_id_shape([with_ids[0], with_ids[-1]])
    if not shape.carries_time:
        logger.warning(
            "far behind, but log ids do not carry their time: reading page by page", extra={"reason": shape.reason}
        )
    return shape.carries_time


DEFAULT_DRAIN = DrainPolicy()
