"""Reading a range of log ids, and a time window [T1, T2), in checkpoint mode.

:func:`read_ids` reads the logs after one id up to and including another, page by page; each
:class:`RangePage` carries the cursor to resume from. :func:`read_window` reads the logs dated in
[T1, T2): it starts at the synthetic id of T1 less a margin and stops at the first log whose id is
past T2 plus the margin (the time in an id is when Auth0 stored the log, a little after its date),
keeping the logs whose ``date`` is in the window. Entries without a ``log_id`` or a readable date
come back in ``malformed`` (to be dead-lettered, never dropped).

Where the tenant's ids do not carry time (:func:`~auth0_webhooks.log_ids.check_id_shape`), read the
window in search mode with :func:`~auth0_webhooks.search_mode.logs_between` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .auth0_source import Auth0LogSource, Page, TimeLeft
from .errors import Auth0Error, ConfigError
from .log_entry import log_id
from .log_ids import ID_DATE_TOLERANCE, log_date, synthetic_id

TAKE = 100  # checkpoint mode's maximum page


@dataclass
class RangePage:
    """One page of a range: the logs in it (with their exact texts when known) and where to resume."""

    logs: list[Any]
    texts: list[str] | None
    malformed: list[Any]  # entries without a log_id (or, in a window, without a readable date)
    cursor: str  # read after this id to go on
    done: bool  # the range is read to its end (or to the tenant's newest log when it has no end)
    source: Page = field(repr=False, default_factory=lambda: Page([]))  # requests, retries, waits


def read_ids(
    source: Auth0LogSource, after: str, until: str | None, time_left: TimeLeft, take: int = TAKE
) -> Iterator[RangePage]:
    """Pages of the logs with ids in (after, until]; ``until=None`` reads to the tenant's newest log.

    Ends after the page that reaches ``until``, after a short page (caught up) and never on its own
    otherwise: the caller checks its time before asking for the next page.
    """
    cursor = after
    while True:
        page = source.after(cursor, take, time_left)
        logs: list[Any] = []
        malformed: list[Any] = []
        texts: list[str] | None = [] if page.texts is not None else None
        done = len(page.logs) < take
        for index, entry in enumerate(page.logs):
            entry_id = log_id(entry)
            if entry_id is None:
                malformed.append(entry)
                continue
            if until is not None and entry_id > until:
                done = True
                break
            cursor = entry_id
            logs.append(entry)
            if texts is not None and page.texts is not None:
                texts.append(page.texts[index])
        if malformed and len(malformed) == len(page.logs):
            raise Auth0Error(f"a page of {len(page.logs)} entries without a log_id or _id after {cursor}")
        yield RangePage(logs, texts, malformed, cursor, done, page)
        if done:
            return


@dataclass(frozen=True)
class Window:
    """The logs dated from ``start`` (included) to ``end`` (excluded), both aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ConfigError("--from/--to", "dates with a time zone (UTC: 2026-11-01T00:00:00Z)")
        if self.end <= self.start:
            raise ConfigError("--to", f"a date after --from ({self.start.isoformat()})", got=self.end.isoformat())

    def holds(self, entry: Any) -> bool | None:
        """Whether a log's date is in the window; ``None`` if it has no readable date."""
        date = log_date(entry)
        return None if date is None else self.start <= date < self.end

    def first_id(self, margin: timedelta = ID_DATE_TOLERANCE) -> str:
        """Read after this id: before every log stored from ``start - margin`` on."""
        return synthetic_id(self.start - margin)

    def last_id(self, margin: timedelta = ID_DATE_TOLERANCE) -> str:
        """Read up to this id: past it, logs were stored after ``end + margin`` and are dated after ``end``."""
        return synthetic_id(self.end + margin)


def read_window(
    source: Auth0LogSource,
    window: Window,
    time_left: TimeLeft,
    cursor: str | None = None,
    take: int = TAKE,
    margin: timedelta = ID_DATE_TOLERANCE,
) -> Iterator[RangePage]:
    """Pages of exactly the logs dated in the window, by checkpoint mode; resume with a page's ``cursor``.

    A page may hold no logs (all of its entries were outside the window) and still move the cursor.
    """
    for page in read_ids(source, cursor or window.first_id(margin), window.last_id(margin), time_left, take):
        logs: list[Any] = []
        texts: list[str] | None = [] if page.texts is not None else None
        for index, entry in enumerate(page.logs):
            inside = window.holds(entry)
            if inside is None:
                page.malformed.append(entry)
            elif inside:
                logs.append(entry)
                if texts is not None and page.texts is not None:
                    texts.append(page.texts[index])
        yield RangePage(logs, texts, page.malformed, page.cursor, page.done, page.source)
