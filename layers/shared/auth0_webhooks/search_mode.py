"""Search-mode reads (``q``, ``sort``, ``page``, ``per_page``) for start points and the date fallback.

Search mode is capped at 1,000 results per query and 100 per page. :func:`logs_between` reads a date
range of any size within that cap: it reads in date order and, when a query reaches the cap, starts a
new query at the date of the last log read (skipping the ids it already gave at that date).

These go through :meth:`Auth0LogSource.search`, the one GET with its waits and retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .auth0_source import Auth0LogSource, Page, TimeLeft
from .errors import Auth0Error
from .log_entry import log_id
from .log_ids import log_date

PER_PAGE = 100  # search mode's maximum
RESULT_CAP = 1000  # results one search query may page through


def lucene_date(when: datetime) -> str:
    """A date as a search-mode range bound, to the millisecond.

    >>> from datetime import UTC
    >>> lucene_date(datetime(2026, 11, 1, 9, 0, 0, 5000, tzinfo=UTC))
    '2026-11-01T09:00:00.005Z'
    """
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_query(start: datetime | None, end: datetime | None) -> str:
    """``q`` for logs dated in [start, end) (``None`` = open); dates have milliseconds, so end-1ms is inclusive.

    >>> from datetime import UTC
    >>> date_query(datetime(2026, 11, 1, tzinfo=UTC), None)
    'date:[2026-11-01T00:00:00.000Z TO *]'
    >>> date_query(None, datetime(2026, 11, 1, tzinfo=UTC))
    'date:[* TO 2026-10-31T23:59:59.999Z]'
    """
    low = "*" if start is None else lucene_date(start)
    high = "*" if end is None else lucene_date(end - timedelta(milliseconds=1))
    return f"date:[{low} TO {high}]"


def search(
    source: Auth0LogSource,
    time_left: TimeLeft,
    q: str | None = None,
    sort: str = "date:1",
    page: int = 0,
    per_page: int = 1,
) -> Page:
    """One search-mode page."""
    params: dict[str, Any] = {"sort": sort, "page": page, "per_page": per_page, "include_totals": "false"}
    if q is not None:
        params["q"] = q
    return source.search(params, time_left)


def newest(source: Auth0LogSource, time_left: TimeLeft) -> Any | None:
    """The tenant's newest log (``sort=date:-1``, ``per_page=1``); ``None`` if it has none."""
    logs = search(source, time_left, sort="date:-1").logs
    return logs[0] if logs else None


def oldest(source: Auth0LogSource, time_left: TimeLeft) -> Any | None:
    """The tenant's oldest log; ``None`` if it has none."""
    logs = search(source, time_left, sort="date:1").logs
    return logs[0] if logs else None


@dataclass
class SearchCursor:
    """Where a date-ordered search stands: logs dated ``since`` or later, less ``seen`` (ids at ``since``)."""

    since: datetime
    seen: set[str] = field(default_factory=set)


def logs_between(
    source: Auth0LogSource, start: datetime, end: datetime, time_left: TimeLeft, cursor: SearchCursor | None = None
) -> Iterator[tuple[list[Any], SearchCursor]]:
    """Pages of the logs dated in [start, end), in date order, each with the cursor to resume after it.

    Entries without a readable date cannot be placed by date and are not returned by a date query.
    """
    cursor = cursor or SearchCursor(start)
    while True:
        q = date_query(cursor.since, end)
        page_logs: list[Any] = []
        for number in range(RESULT_CAP // PER_PAGE):
            page_logs = search(source, time_left, q=q, page=number, per_page=PER_PAGE).logs
            fresh = [entry for entry in page_logs if log_id(entry) not in cursor.seen]
            cursor = _moved(cursor, fresh)
            if fresh:
                yield fresh, cursor
            if len(page_logs) < PER_PAGE:
                return
        # the query reached the cap: query again from the newest date read
        if not page_logs or log_date(page_logs[-1]) is None:
            raise Auth0Error(f"search {q!r} reached {RESULT_CAP} results without a date to continue from")
        if _all_at(page_logs, cursor.since) and len(cursor.seen) >= RESULT_CAP:
            raise Auth0Error(f"more than {RESULT_CAP} logs share the date {lucene_date(cursor.since)}")


def _moved(cursor: SearchCursor, fresh: list[Any]) -> SearchCursor:
    """The cursor after ``fresh`` (a new one: a cursor already handed out stays as it was)."""
    cursor = SearchCursor(cursor.since, set(cursor.seen))
    for entry in fresh:
        date = log_date(entry)
        if date is None:
            continue
        if date > cursor.since:
            cursor = SearchCursor(date, set())
        if date == cursor.since:
            cursor.seen.add(log_id(entry) or "")
    return cursor


def _all_at(entries: list[Any], when: datetime) -> bool:
    return all(log_date(entry) == when for entry in entries)
