"""An SQS record as the deliverer reads it: its logs (from its body, never from its attributes),
its attempt number, its route, and each log's JSON for a request or a message.

>>> parsed = parse('[{"log_id": "900a", "type": "s"}, {"type": "f"}]')
>>> parsed.logs, parsed.malformed, parsed.ids
([{'log_id': '900a', 'type': 's'}], [{'type': 'f'}], ['900a'])
>>> parse("not json") is None, parse('"a string"') is None
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .dead_letters import ATTEMPTS, DEFAULT_ROUTE, ROUTE
from .log_entry import log_id
from .messages import REPLAYED, dumps


@dataclass(frozen=True)
class Parsed:
    logs: list[dict[str, Any]]
    malformed: list[Any]
    array: bool  # the body is a JSON array (a batch), not one object
    ids: list[str] = field(default_factory=list)  # each log's id, in the order of ``logs`` (read once, here)


def parse(body: str) -> Parsed | None:
    """The logs in a message body (a JSON array, or one log object); ``None`` if it is neither."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError):
        return None
    array = isinstance(value, list)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    parsed = Parsed([], [], array)
    for entry in value:
        entry_id = log_id(entry)
        if entry_id is None:
            parsed.malformed.append(entry)
        else:
            parsed.logs.append(entry)
            parsed.ids.append(entry_id)
    return parsed


def attempt_of(record: SQSRecord) -> int:
    """This attempt's number: SQS's receive count plus attempts made before a requeue."""
    received = int(record.attributes.approximate_receive_count or 1)
    earlier = (record.raw_event.get("messageAttributes") or {}).get(ATTEMPTS) or {}
    try:
        return received + int(earlier.get("stringValue") or 0)
    except ValueError:
        return received


def replayed(record: SQSRecord) -> bool:
    """Whether ``auth0-webhooks replay`` made the record (its ``replayed`` attribute is ``true``)."""
    attribute = (record.raw_event.get("messageAttributes") or {}).get(REPLAYED) or {}
    return attribute.get("stringValue") == "true"


def route_of(record: SQSRecord) -> str:
    """The route the record's ``route`` attribute names; ``default`` when it has none (messages made before routes)."""
    attribute = (record.raw_event.get("messageAttributes") or {}).get(ROUTE) or {}
    value = attribute.get("stringValue")
    return value if isinstance(value, str) and value else DEFAULT_ROUTE


def encode(value: Any) -> str:
    """JSON for a POST or a message: UTF-8 kept as is, unless the value holds text UTF-8 cannot
    carry (a lone surrogate from a ``\\ud800`` escape): then escaped as the sender wrote it.

    >>> encode({"a": "é"}), encode({"a": json.loads('"\\\\ud800"')})
    ('{"a":"é"}', '{"a":"\\\\ud800"}')
    """
    text = dumps(value)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"))
    return text
