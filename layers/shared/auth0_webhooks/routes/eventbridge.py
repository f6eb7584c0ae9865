"""An EventBridge destination: one event per log on a bus, PutEvents partial failures retried.

Each log becomes an entry with source ``auth0-webhooks``, detail-type ``Auth0 log`` and the
(scrubbed) log as its detail, so rules match on ``detail.type``, ``detail.client_id`` and so on.
EventBridge refuses an entry over 256 KB: such a log is not put but returned by
:func:`build_entries` as too large, for the caller to dead-letter with that reason (an Auth0
log is a few KB; only a huge ``details`` comes near). :func:`put_entries` retries the
entries PutEvents did not accept on its schedule, within the caller's deadline, and returns
what it still could not put: nothing is dropped.

>>> entries, too_large = build_entries([{"log_id": "1", "type": "s"}], bus="auth0")
>>> entries[0].entry["DetailType"], entries[0].entry["Detail"], too_large
('Auth0 log', '{"log_id":"1","type":"s"}', [])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..log_entry import log_id
from ..records import encode

SOURCE = "auth0-webhooks"
DETAIL_TYPE = "Auth0 log"
MAX_ENTRY_BYTES = 256 * 1024  # EventBridge's limit on one entry, and on one PutEvents request
MAX_ENTRIES_PER_CALL = 10  # PutEvents takes at most 10 entries


@dataclass(frozen=True)
class PutSchedule:
    """How often and how long to retry entries PutEvents did not accept."""

    attempts: int = 4
    delays: tuple[float, ...] = (0.2, 1.0, 3.0)  # before the 2nd, 3rd and 4th attempt
    min_seconds_left: float = 2.0  # no PutEvents call starts with less time than this left

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays)) - 1]


@dataclass(frozen=True)
class Entry:
    log_id: str
    entry: Mapping[str, Any]
    size: int


@dataclass(frozen=True)
class NotPut:
    """A log that did not reach the bus, and why (an error code, never the log's content)."""

    log_id: str
    reason: str


class EventsClient(Protocol):
    def put_events(self, *, Entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]: ...


def build_entries(logs: Sequence[Mapping[str, Any]], bus: str) -> tuple[list[Entry], list[NotPut]]:
    """PutEvents entries for ``logs`` in order, and the logs too large for one entry."""
    entries, too_large = [], []
    for log in logs:
        detail = encode(log)  # compact UTF-8 JSON; text UTF-8 cannot carry, escaped
        size = len(SOURCE) + len(DETAIL_TYPE) + len(detail.encode("utf-8"))
        if size > MAX_ENTRY_BYTES:
            too_large.append(NotPut(log_id(log) or "", f"entry of {size} bytes, over EventBridge's {MAX_ENTRY_BYTES}"))
            continue
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": detail, "EventBusName": bus}
        entries.append(Entry(log_id(log) or "", entry, size))
    return entries, too_large


def put_entries(
    client: EventsClient,
    entries: Sequence[Entry],
    seconds_left: Callable[[], float],
    sleep: Callable[[float], None],
    schedule: PutSchedule = PutSchedule(),
) -> list[NotPut]:
    """Put every entry, retrying failures; what is returned could not be put in the time or attempts given."""
    failed: list[tuple[Entry, str]] = [(item, "not tried") for item in entries]
    for attempt in range(1, schedule.attempts + 1):
        if attempt > 1:
            if seconds_left() < schedule.delay(attempt - 1) + schedule.min_seconds_left:
                break
            sleep(schedule.delay(attempt - 1))
        pending, failed = [item for item, _ in failed], []
        for chunk in _chunks(pending):
            if seconds_left() < schedule.min_seconds_left:
                failed += [(item, "deadline") for item in chunk]
            else:
                failed += _put(client, chunk)
        if not failed:
            break
    return [NotPut(item.log_id, reason) for item, reason in failed]


def _put(client: EventsClient, chunk: Sequence[Entry]) -> list[tuple[Entry, str]]:
    try:
        reply = client.put_events(Entries=[item.entry for item in chunk])
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "ClientError"))
        return [(item, code) for item in chunk]
    except BotoCoreError as error:
        return [(item, type(error).__name__) for item in chunk]
    results = reply.get("Entries", [])
    if reply.get("FailedEntryCount", 0) == 0 and len(results) == len(chunk):
        return []
    failed = []
    for index, item in enumerate(chunk):
        result = results[index] if index < len(results) else {"ErrorCode": "NoResult"}
        if result.get("ErrorCode") or not result.get("EventId"):
            failed.append((item, str(result.get("ErrorCode") or "NoEventId")))
    return failed


def _chunks(entries: Sequence[Entry]) -> list[list[Entry]]:
    """At most 10 entries and 256 KB a call."""
    chunks: list[list[Entry]] = []
    size = 0
    for item in entries:
        if not chunks or len(chunks[-1]) == MAX_ENTRIES_PER_CALL or size + item.size > MAX_ENTRY_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += item.size
    return chunks
