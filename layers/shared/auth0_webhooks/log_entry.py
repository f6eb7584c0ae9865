"""Log entries: what an Auth0 log is to this package, and the helpers that read its id, date and type.

An entry is the JSON object ``GET /api/v2/logs`` returns for one log. The poller, the queue,
the deliverer and the redrive tool read only these three fields; everything else travels as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeAlias

LogEntry: TypeAlias = dict[str, Any]
"""One Auth0 log entry, as decoded from the Management API's JSON."""


def log_id(entry: Any) -> str | None:
    """The id of a log entry: ``log_id``, or the legacy ``_id``; ``None`` if it has neither
    (or ``entry`` is not a mapping). Ids are non-empty strings: anything else is no id.

    >>> log_id({"log_id": "900123"}), log_id({"_id": "900456"}), log_id({"type": "s"})
    ('900123', '900456', None)
    >>> log_id({"log_id": "", "_id": "900789"}), log_id({"log_id": 900}), log_id(["900123"])
    ('900789', None, None)
    """
    if not isinstance(entry, Mapping):
        return None
    for key in ("log_id", "_id"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def log_time(entry: Any) -> float | None:
    """A log's ``date`` as UNIX seconds; ``None`` if it has no readable date.

    >>> log_time({"date": "2025-03-10T14:22:06.981Z"})
    1741616526.981
    """
    return parse_date(entry.get("date") if isinstance(entry, dict) else None)


def oldest_time(entries: Iterable[Any]) -> float | None:
    """The oldest ``date`` of the entries as UNIX seconds; ``None`` if none has a readable date.

    Auth0 writes every date in one form (``2025-03-10T14:22:06.981Z``): dates of that one
    length and ending compare as strings, so only the oldest is parsed. Dates in mixed forms
    are each parsed, as :func:`log_time` would.

    >>> oldest_time([{"date": "2025-03-10T14:22:07.000Z"}, {"date": "2025-03-10T14:22:06.981Z"}, {}])
    1741616526.981
    >>> oldest_time([{"date": "2025-03-10T15:22:06+01:00"}, {"date": "2025-03-10T14:22:07Z"}, {"date": "soon"}])
    1741616526.0
    >>> oldest_time([{"type": "s"}]) is None
    True
    """
    values = [entry.get("date") for entry in entries if isinstance(entry, dict)]
    dates: list[str] = [date for date in values if isinstance(date, str)]
    if not dates:
        return None
    oldest = min(dates)
    if oldest.endswith("Z") and all(len(date) == len(oldest) and date.endswith("Z") for date in dates):
        seconds = parse_date(oldest)
        if seconds is not None:
            return seconds
    times = [seconds for seconds in map(parse_date, dates) if seconds is not None]
    return min(times) if times else None


def parse_date(date: Any) -> float | None:
    """An ISO-8601 date (Auth0's ``…Z`` form included) as UNIX seconds; ``None`` if it is not one."""
    if not isinstance(date, str):
        return None
    try:
        return datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def log_ids(entries: Iterable[Any]) -> list[str]:
    """The ids of the entries that have one, in order.

    >>> log_ids([{"log_id": "900a"}, {"type": "s"}, {"_id": "900b"}])
    ['900a', '900b']
    """
    return [entry_id for entry_id in map(log_id, entries) if entry_id]


def log_type(entry: Any) -> str:
    """A log's ``type`` code as text (``""`` if it has none).

    >>> log_type({"type": "fp"}), log_type({"log_id": "1"}), log_type("not a log")
    ('fp', '', '')
    """
    return str(entry.get("type", "")) if isinstance(entry, dict) else ""
