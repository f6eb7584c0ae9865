"""Dead letters: what goes to the dead-letter queue, with the attributes that say why.

Every message bound for the dead-letter queue is built here (a log the poller cannot queue,
a log without an id (:func:`malformed_log`, whoever finds it),
logs the webhook refused or that ran out of attempts, a message that is not logs at all),
and so is the message the redrive tool makes to bring dead letters back. A dead letter's
attributes are the names below; ``reason`` is always cut to :data:`MAX_REASON_CHARS`.
The deliverer's dead letters (and the logs it queues again) carry the ``route`` they belong to,
the same attribute the poller's messages carry, so one route's dead letters can be moved alone.

>>> message = dead_letter_batch([{"log_id": "900a", "type": "f"}], "webhook refused it: HTTP 404", 404, 1)
>>> {name: message.attributes[name] for name in (CONTENT, REASON, STATUS, ATTEMPTS)}
{'content': 'dead-letter', 'reason': 'webhook refused it: HTTP 404', 'status': '404', 'attempts': '1'}
>>> len(dead_letter_message({"log_id": "900b"}, "x" * 5000).attributes[REASON]) == MAX_REASON_CHARS
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .log_entry import LogEntry, log_id
from .messages import MAX_BODY_BYTES, REPLAYED, Message, dumps, logs_message

# the attributes of a dead letter
CONTENT = "content"  # CONTENT_DEAD_LETTER here; the main queue's batches say messages.CONTENT_LOGS
REASON = "reason"  # why it is here, in words (no log contents, no secrets)
STATUS = "status"  # the webhook's HTTP status, when it answered
ATTEMPTS = "attempts"  # delivery attempts made (also on a message the deliverer queues again)
LOG_ID = "log_id"  # the one log a single-entry dead letter holds
SOURCE_MESSAGE_ID = "source_message_id"  # the SQS message whose body could not be read
ROUTE = "route"  # the route the logs belong to (on the main queue too; absent means "default")
DEFAULT_ROUTE = "default"
# the attributes of a dead letter brought back to the main queue by the redrive tool
PREVIOUS_REASON = "previous_reason"
PREVIOUS_STATUS = "previous_status"
REDRIVEN_FROM = "redriven_from"

CONTENT_DEAD_LETTER = "dead-letter"
MAX_REASON_CHARS = 1_000
MALFORMED_REASON = "malformed log: no log_id or _id"


def why(reason: str, status: int | None = None, attempts: int | None = None) -> dict[str, str]:
    """The attributes that mark a dead letter and say why it is one."""
    attributes = {CONTENT: CONTENT_DEAD_LETTER, REASON: reason[:MAX_REASON_CHARS]}
    if attempts is not None:
        attributes[ATTEMPTS] = str(attempts)
    if status is not None:
        attributes[STATUS] = str(status)
    return attributes


def dead_letter_message(entry: Any, reason: str, attempts: int | None = None) -> Message:
    """An entry for the dead-letter queue; if the entry is too large, a stub naming it instead."""
    body = dumps(entry)
    entry_id = log_id(entry)
    if len(body.encode()) > MAX_BODY_BYTES:
        fields = entry if isinstance(entry, dict) else {}
        body = dumps(
            {
                "log_id": entry_id,
                "type": fields.get("type"),
                "date": fields.get("date"),
                "size_bytes": len(body.encode()),
                "error": "log too large for an SQS message; read it whole with GET /api/v2/logs/{id}",
            }
        )
    attributes = why(reason, attempts=attempts)
    if entry_id:
        attributes[LOG_ID] = entry_id
    return Message(body=body, attributes=attributes, log_ids=(entry_id,) if entry_id else (), dead_letter=True)


def malformed_log(entry: Any) -> Message:
    """A page entry without an id, for the dead-letter queue: the entry as it came, with why.

    >>> message = malformed_log({"type": "s"})
    >>> message.body, dict(message.attributes), message.log_ids
    ('{"type":"s"}', {'content': 'dead-letter', 'reason': 'malformed log: no log_id or _id'}, ())
    """
    return dead_letter_message(entry, MALFORMED_REASON)


def dead_letter_batch(
    entries: Sequence[LogEntry], reason: str, status: int | None = None, attempts: int | None = None
) -> Message:
    """Logs that failed together, as the poller would queue them, with why."""
    message = logs_message([dumps(entry) for entry in entries], entries)
    return replace(message, attributes={**message.attributes, **why(reason, status, attempts)}, dead_letter=True)


def dead_letter_body(body: str, reason: str, source_message_id: str) -> Message:
    """A message body that is not logs at all, kept as it came (``(empty)`` for an empty one)."""
    attributes = {**why(reason), SOURCE_MESSAGE_ID: source_message_id}
    return Message(body=body or "(empty)", attributes=attributes, dead_letter=True)


def replay_message(logs: Sequence[LogEntry], attributes: Mapping[str, str], source_id: str) -> Message:
    """A fresh main-queue message for these logs, remembering why they were dead-lettered.

    A replayed log stays replayed (its ``replayed`` attribute is kept).

    >>> replay_message([{"log_id": "900a"}], {REASON: "HTTP 503", REPLAYED: "true"}, "m1").attributes[REPLAYED]
    'true'
    """
    message = logs_message([dumps(e) for e in logs], logs)
    extra = {REDRIVEN_FROM: source_id}
    if attributes.get(REPLAYED) == "true":
        extra[REPLAYED] = "true"
    if REASON in attributes:
        extra[PREVIOUS_REASON] = attributes[REASON][:MAX_REASON_CHARS]
    if STATUS in attributes:
        extra[PREVIOUS_STATUS] = attributes[STATUS]
    return replace(message, attributes={**message.attributes, **extra})


def remainder_message(logs: Sequence[LogEntry], attributes: Mapping[str, str]) -> Message:
    """The logs that stay, back in the dead-letter queue with the original message's attributes."""
    fresh = logs_message([dumps(e) for e in logs], logs)
    counts = {k: v for k, v in fresh.attributes.items() if k != CONTENT}
    return replace(fresh, attributes={**attributes, **counts}, dead_letter=True)
