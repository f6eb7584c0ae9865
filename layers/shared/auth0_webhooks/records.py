"""What a queue message holds: its logs parsed from the body (never from its attributes), and
each log's JSON for a request or a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .auth0_source import log_id
from .queue import dumps


@dataclass(frozen=True)
class Parsed:
    logs: list[dict[str, Any]]
    malformed: list[Any]
    array: bool  # the body is a JSON array (a batch), not one object


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
        (parsed.logs if log_id(entry) is not None else parsed.malformed).append(entry)
    return parsed


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
