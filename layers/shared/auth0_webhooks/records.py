"""An SQS record as the deliverer reads it: its logs, its own summary, and its attempt number.

>>> parsed = parse('[{"log_id": "900a", "type": "s"}, {"type": "f"}]')
>>> parsed.logs, parsed.malformed
([{'log_id': '900a', 'type': 's'}], [{'type': 'f'}])
>>> parse("not json") is None, parse('"a string"') is None
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .dead_letters import ATTEMPTS, CONTENT
from .log_entry import log_id
from .messages import CONTENT_LOGS


@dataclass(frozen=True)
class Parsed:
    logs: list[dict[str, Any]]
    malformed: list[Any]


def parse(body: str) -> Parsed | None:
    """The logs in a message body (a JSON array, or one log object); ``None`` if it is neither."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError):
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    parsed = Parsed([], [])
    for entry in value:
        (parsed.logs if log_id(entry) is not None else parsed.malformed).append(entry)
    return parsed


def attempt_of(record: SQSRecord) -> int:
    """This attempt's number: SQS's receive count plus attempts made before a requeue."""
    received = int(record.attributes.approximate_receive_count or 1)
    earlier = (record.raw_event.get("messageAttributes") or {}).get(ATTEMPTS) or {}
    try:
        return received + int(earlier.get("stringValue") or 0)
    except ValueError:
        return received


@dataclass(frozen=True)
class BatchSummary:
    """What a message made by the poller says about itself in its attributes."""

    webhook_id: str
    count: int
    last_log_id: str
    oldest_log_date: str | None


def batch_summary(record: SQSRecord) -> BatchSummary | None:
    """The message's own description, when it is a batch of logs that carries one."""
    attributes = record.raw_event.get("messageAttributes") or {}

    def value(name: str) -> str:
        return str((attributes.get(name) or {}).get("stringValue") or "")

    if value(CONTENT) != CONTENT_LOGS or not value("webhook_id") or not value("log_count").isdigit():
        return None
    return BatchSummary(
        value("webhook_id"), int(value("log_count")), value("last_log_id"), value("oldest_log_date") or None
    )
