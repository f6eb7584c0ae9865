"""``START_FROM``: where a poller with no checkpoint (or a new START_FROM) starts.

It takes ``now`` (after the tenant's newest log), a UTC date (``2026-11-01T00:00:00Z`` or
``2026-11-01``), a duration back from now (``3d``, ``12h``, ``90m``) or a log id.

>>> now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
>>> parse_start_from("3d", now)
StartPoint(kind='date', text='3d', at=datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.timezone.utc))
>>> parse_start_from("2026-11-01", now).at
datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_start_from("900202611010900", now).kind
'log_id'
>>> parse_start_from("next tuesday", now)
Traceback (most recent call last):
...
auth0_webhooks.errors.ConfigError: START_FROM must be now, a UTC date such as 2026-11-01T00:00:00Z or 2026-11-01, \
a duration back from now such as 3d, 12h or 90m, or an Auth0 log_id (letters, digits, _ and -); got 'next tuesday'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from aws_lambda_powertools import Logger

from .auth0_source import Auth0LogSource, TimeLeft
from .errors import ConfigError
from .log_entry import log_id
from .log_ids import ID_DATE_TOLERANCE, check_id_shape, synthetic_id
from .search_mode import PER_PAGE, RESULT_CAP, date_query, newest, oldest, search

logger = Logger(child=True)

SETTING = "START_FROM"
ALLOWED = (
    "now, a UTC date such as 2026-11-01T00:00:00Z or 2026-11-01, a duration back from now such as 3d, 12h or 90m,"
    " or an Auth0 log_id (letters, digits, _ and -)"
)
DURATION_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_DURATION = re.compile(r"^(\d{1,6})([dhm])$")
_LIKE_DURATION = re.compile(r"^\d{1,6}[A-Za-z]{1,7}$")  # 3w, 2days: meant as a duration, not a log id
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?$")
_LOG_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class StartPoint:
    """A parsed START_FROM: ``now``, a ``date`` (durations become dates) or a ``log_id`` (``text`` itself)."""

    kind: Literal["now", "date", "log_id"]
    text: str
    at: datetime | None = None


def parse_start_from(raw: str, now: datetime) -> StartPoint:
    """Read a START_FROM value; a date must be in the past, a duration counts back from ``now``."""
    text = raw.strip()
    if text.lower() == "now":
        return StartPoint("now", text)
    duration = _DURATION.match(text)
    if duration:
        return StartPoint("date", text, now - int(duration.group(1)) * DURATION_UNITS[duration.group(2)])
    if _LIKE_DURATION.match(text):
        raise ConfigError(SETTING, "a duration in d (days), h (hours) or m (minutes), such as 3d, 12h or 90m", got=raw)
    if _DATE.match(text):
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(SETTING, ALLOWED, got=raw) from None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        if at > now:
            raise ConfigError(SETTING, "a date in the past (dates are UTC)", got=raw)
        return StartPoint("date", text, at)
    if _LOG_ID.match(text):
        return StartPoint("log_id", text)
    raise ConfigError(SETTING, ALLOWED, got=raw)


@dataclass(frozen=True)
class Resolved:
    """The checkpoint a start point comes to (``None``: the oldest retained log) and how it was found."""

    checkpoint: str | None
    how: Literal["log-id", "newest-log", "synthetic-id", "search-fallback", "empty-tenant"]


def resolve_start(
    point: StartPoint, source: Auth0LogSource, time_left: TimeLeft, tolerance: timedelta = ID_DATE_TOLERANCE
) -> Resolved:
    """The checkpoint to read after, asking the tenant where needed.

    - ``now``: the newest log's id (search mode, ``sort=date:-1``); an empty tenant starts from now's id.
    - a date: when the tenant's ids carry time (checked on its oldest and newest log), the synthetic id of
      the date less ``tolerance`` (a log stored a little after its date is not missed; a few earlier ones
      may be sent); otherwise search mode: the id of the newest log dated before the date.
    """
    if point.kind == "log_id":
        return Resolved(point.text, "log-id")
    if point.kind == "now":
        last = newest(source, time_left)
        if last is None or log_id(last) is None:
            return Resolved(synthetic_id(datetime.now(UTC)), "empty-tenant")
        return Resolved(log_id(last), "newest-log")
    assert point.at is not None
    samples = [entry for entry in (oldest(source, time_left), newest(source, time_left)) if entry is not None]
    shape = check_id_shape(samples, tolerance)
    if shape.carries_time:
        return Resolved(synthetic_id(point.at - tolerance), "synthetic-id")
    logger.warning(
        "START_FROM: log ids do not carry their time here; finding the start in search mode",
        extra={"start_from": point.text, "reason": shape.reason},
    )
    return Resolved(_last_before(source, point.at, time_left), "search-fallback")


def _last_before(source: Auth0LogSource, at: datetime, time_left: TimeLeft) -> str | None:
    """The id of the newest log dated before ``at``; ``None`` if there is none (start from the oldest)."""
    q = date_query(None, at)
    for number in range(RESULT_CAP // PER_PAGE):
        logs = search(source, time_left, q=q, sort="date:-1", page=number, per_page=PER_PAGE).logs
        for entry in logs:
            if log_id(entry) is not None:
                return log_id(entry)
        if len(logs) < PER_PAGE:
            break
    return None
