"""SQS messages of logs: the body (a JSON array of log entries), its attributes and its size.

The poller makes them, the deliverer requeues them, the redrive tool rebuilds them; the
dead-letter queue's messages are built in :mod:`.dead_letters` on top of these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .log_entry import log_id, log_type
from .signing import batch_id

MAX_MESSAGE_BYTES = 1_048_576  # SQS: body and attributes of one message, and of one SendMessageBatch
ATTRIBUTE_BYTES = 2_048  # room kept for the attributes below (log_types is cut to fit)
MAX_BODY_BYTES = MAX_MESSAGE_BYTES - ATTRIBUTE_BYTES
MAX_TYPES_CHARS = 512
NUMBER_ATTRIBUTES = frozenset({"log_count", "attempts", "status"})
CONTENT_LOGS = "auth0-logs"
REPLAYED = "replayed"  # "true" on a message `auth0-webhooks replay` made (the deliverer sends webhook-replayed: true)
MAX_ATTRIBUTES = 10  # SQS refuses a message with more
# what a message's body says again, dropped in this order when a message would carry more than MAX_ATTRIBUTES
# (a dead letter's reason, status, attempts, route and replayed are kept; the deliverer reads the body)
DERIVED = ("oldest_log_date", "log_types", "webhook_id")

T = TypeVar("T")


def fit(attributes: Mapping[str, T]) -> dict[str, T]:
    """``attributes`` without the :data:`DERIVED` ones it needs to drop to stay within :data:`MAX_ATTRIBUTES`.

    >>> names = ["content", "log_count", "first_log_id", "last_log_id", *DERIVED, "reason", "attempts", "status"]
    >>> sorted(set(names) - set(fit(dict.fromkeys(names + ["route", "replayed"], ""))))
    ['log_types', 'oldest_log_date']
    """
    kept = dict(attributes)
    for name in DERIVED:
        if len(kept) <= MAX_ATTRIBUTES:
            break
        kept.pop(name, None)
    return kept


# one encoder for every call: json.dumps with options builds a new JSONEncoder each time,
# which doubles the cost of encoding a 1.5 KB log (the poller encodes every log it queues)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is.

    >>> dumps({"type": "s", "description": "Connexion réussie", "n": [1, 2]})
    '{"type":"s","description":"Connexion réussie","n":[1,2]}'
    """
    return _ENCODER.encode(value)


@dataclass(frozen=True)
class Message:
    """One SQS message: a batch of logs for the main queue, or one item for the dead-letter queue."""

    body: str
    attributes: Mapping[str, str]
    log_ids: tuple[str, ...] = ()
    dead_letter: bool = False
    delay_seconds: int = 0  # hide it this long after sending (SQS allows up to 900)

    @property
    def last_id(self) -> str | None:
        return self.log_ids[-1] if self.log_ids else None

    @property
    def size(self) -> int:
        return len(self.body.encode()) + sum(len(k) + len(v.encode()) + 6 for k, v in self.attributes.items())

    def sqs_attributes(self) -> dict[str, Any]:
        """What SQS gets: at most :data:`MAX_ATTRIBUTES` (see :func:`fit`)."""
        return {
            name: {"DataType": "Number" if name in NUMBER_ATTRIBUTES else "String", "StringValue": value}
            for name, value in fit(self.attributes).items()
        }


def logs_message(encoded: Sequence[str], logs: Sequence[Mapping[str, Any]]) -> Message:
    """A message for these logs (``encoded`` is each one's JSON), with attributes that describe it.

    ``webhook_id`` is the id the deliverer sends a batch under, derived from its log ids; with
    ``log_count`` and ``oldest_log_date`` it lets the deliverer POST the body without parsing it.
    """
    ids = tuple(log_id(entry) or "" for entry in logs)
    types = ",".join(sorted({log_type(entry) for entry in logs}))
    dates = [date for date in (entry.get("date") for entry in logs) if isinstance(date, str)]
    attributes = {
        "content": CONTENT_LOGS,
        "log_count": str(len(ids)),
        "first_log_id": ids[0],
        "last_log_id": ids[-1],
        "log_types": types[:MAX_TYPES_CHARS],
        "webhook_id": batch_id(ids),
    }
    if dates:
        attributes["oldest_log_date"] = min(dates)
    return Message(body="[" + ",".join(encoded) + "]", attributes=attributes, log_ids=ids)


def mark_replayed(message: Message) -> Message:
    """The same message with the ``replayed`` attribute; a dead letter stays as it is.

    >>> mark_replayed(Message("[]", {"webhook_id": "batch_1"})).attributes
    {'webhook_id': 'batch_1', 'replayed': 'true'}
    """
    return message if message.dead_letter else replace(message, attributes={**message.attributes, REPLAYED: "true"})
