"""Dead letters: what goes to the dead-letter queue, with the attributes that say why.

Every message bound for the dead-letter queue is built here, and the redrive tool's
messages that bring dead letters back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .log_entry import log_id
from .messages import MAX_BODY_BYTES, Message, dumps, logs_message

CONTENT_DEAD_LETTER = "dead-letter"


def dead_letter_message(entry: Any, reason: str, extra: Mapping[str, str] | None = None) -> Message:
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
    attributes = {"content": CONTENT_DEAD_LETTER, "reason": reason[:1000], **(extra or {})}
    if entry_id:
        attributes["log_id"] = entry_id
    return Message(body=body, attributes=attributes, log_ids=(entry_id,) if entry_id else (), dead_letter=True)


def replay_message(logs: Sequence[dict[str, Any]], attributes: Mapping[str, str], source_id: str) -> Message:
    """A fresh main-queue message for these logs, remembering why they were dead-lettered."""
    message = logs_message([dumps(e) for e in logs], logs)
    extra = {"redriven_from": source_id}
    if "reason" in attributes:
        extra["previous_reason"] = attributes["reason"][:1000]
    if "status" in attributes:
        extra["previous_status"] = attributes["status"]
    return replace(message, attributes={**message.attributes, **extra})


def remainder_message(logs: Sequence[dict[str, Any]], attributes: Mapping[str, str]) -> Message:
    """The logs that stay, back in the dead-letter queue with the original message's attributes."""
    fresh = logs_message([dumps(e) for e in logs], logs)
    counts = {k: v for k, v in fresh.attributes.items() if k != "content"}
    return replace(fresh, attributes={**attributes, **counts}, dead_letter=True)
