"""Log ids that carry time: the UTC time in an id, and synthetic ids that start from a time.

Observed, not documented: Auth0's ``log_id`` is 56 digits, ``900`` then the UTC time the log was
stored as ``YYYYMMDDhhmmss`` and its milliseconds, then 36 more digits (a sequence). Checkpoint mode
orders by ``log_id``, so ``from=<an id made from time T>`` reads the logs stored at or after T. Elastic's
Auth0 integration starts a look-back the same way. The time in an id is when Auth0 stored the log, a
little after its ``date`` (0.14 s in Auth0's own sample), so readers keep a margin around a time.

>>> synthetic_id(datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
'90020261101093000000000000000000000000000000000000000000'
>>> id_time('90020250310142207118000000000000001223372041234567000000')
datetime.datetime(2025, 3, 10, 14, 22, 7, 118000, tzinfo=datetime.timezone.utc)
>>> id_time('not-a-time') is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .log_entry import log_id, parse_date

ID_PREFIX = "900"
ID_LENGTH = 56
# How far the time in a log's id may be from its ``date`` for the tenant's ids to count as carrying time,
# and the margin window and start readers keep around a time (a log stored this late is still found).
ID_DATE_TOLERANCE = timedelta(seconds=10)
_TIMED_ID = re.compile(r"^900(\d{14})(\d{3})")


def synthetic_id(when: datetime) -> str:
    """An id that sorts before every real id of ``when``'s millisecond and after every earlier one.

    It is ``900``, the time to the millisecond, and zeros: a real id of that millisecond has a
    non-zero sequence after it, and ``from`` returns the ids greater than the one given.

    >>> a = synthetic_id(datetime(2026, 11, 1, 0, 0, 0, 1000, tzinfo=UTC))
    >>> a[:20], len(a)
    ('90020261101000000001', 56)
    """
    when = when.astimezone(UTC)
    return f"{ID_PREFIX}{when:%Y%m%d%H%M%S}{when.microsecond // 1000:03d}".ljust(ID_LENGTH, "0")


def id_time(value: str | None) -> datetime | None:
    """The UTC time an Auth0 log id carries (to the millisecond); ``None`` if it carries none."""
    match = _TIMED_ID.match(value or "")
    if match is None:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment + timedelta(milliseconds=int(match.group(2)))


def log_date(entry: Any) -> datetime | None:
    """A log's ``date`` as an aware UTC datetime; ``None`` if it has none.

    >>> log_date({"date": "2026-11-01T09:00:00.250Z"})
    datetime.datetime(2026, 11, 1, 9, 0, 0, 250000, tzinfo=datetime.timezone.utc)
    """
    seconds = parse_date(entry.get("date") if isinstance(entry, dict) else None)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class IdShape:
    """Whether the tenant's ids carry the logs' time, and why not when they do not."""

    carries_time: bool
    reason: str


def check_id_shape(samples: list[Any], tolerance: timedelta = ID_DATE_TOLERANCE) -> IdShape:
    """Check that each sample log (the tenant's oldest and newest) has an id whose time matches its date.

    >>> good = {"log_id": "90020261101090000250" + "0" * 35 + "1", "date": "2026-11-01T09:00:00.100Z"}
    >>> check_id_shape([good])
    IdShape(carries_time=True, reason='the ids of 1 sampled logs carry their time')
    >>> check_id_shape([{"log_id": "65f0c1d2e3f4", "date": "2026-11-01T09:00:00Z"}]).reason
    "log id '65f0c1d2e3f4' does not start with 900 and a UTC time"
    """
    if not samples:
        return IdShape(True, "the tenant has no logs: nothing contradicts ids that carry time")
    for entry in samples:
        entry_id, date = log_id(entry), log_date(entry)
        stored = id_time(entry_id)
        if stored is None:
            return IdShape(False, f"log id {entry_id!r} does not start with 900 and a UTC time")
        if date is None:
            return IdShape(False, f"log {entry_id!r} has no readable date to compare with its id")
        if abs(stored - date) > tolerance:
            return IdShape(
                False,
                f"log {entry_id!r}: the time in its id is {abs(stored - date).total_seconds():.0f}s from its date"
                f" (at most {tolerance.total_seconds():.0f}s allowed)",
            )
    return IdShape(True, f"the ids of {len(samples)} sampled logs carry their time")
