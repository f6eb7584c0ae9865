"""Size-aware SQS batches of logs, and the dead-letter queue.

A message body is a JSON array of log entries, kept under the SQS limit (1 MiB for body
and attributes together). A log that cannot fit in a message on its own, and an entry
that is not a log at all, go to the dead-letter queue with a ``reason`` attribute: they
are never dropped. Messages are sent in order; :class:`QueueError` says how many were
accepted before the first one SQS would not take, so the checkpoint can stop there.

>>> logs = [{"log_id": f"90{i}", "type": "s"} for i in range(5)]
>>> [m.log_ids for m in batch_messages(logs, max_count=2)]
[('900', '901'), ('902', '903'), ('904',)]
>>> batch_messages(logs[:2], max_count=10)[0].attributes["log_types"]
's'
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import QueueError
from .log_entry import log_id, log_type
from .signing import batch_id

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_MESSAGE_BYTES = 1_048_576  # SQS: body and attributes of one message, and of one SendMessageBatch
ATTRIBUTE_BYTES = 2_048  # room kept for the attributes below (log_types is cut to fit)
MAX_BODY_BYTES = MAX_MESSAGE_BYTES - ATTRIBUTE_BYTES
MAX_ENTRIES_PER_REQUEST = 10
MAX_TYPES_CHARS = 512
SEND_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds before each retry of what SQS did not accept
NUMBER_ATTRIBUTES = frozenset({"log_count", "attempts", "status"})
CONTENT_LOGS = "auth0-logs"
CONTENT_DEAD_LETTER = "dead-letter"


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
        return {
            name: {"DataType": "Number" if name in NUMBER_ATTRIBUTES else "String", "StringValue": value}
            for name, value in self.attributes.items()
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


def batch_messages(
    logs: Sequence[Mapping[str, Any]],
    max_count: int,
    max_bytes: int = MAX_BODY_BYTES,
    texts: Sequence[str] | None = None,
) -> list[Message]:
    """Split logs, in order, into messages of at most ``max_count`` logs and ``max_bytes`` of body.

    ``texts``, when given, is each log's JSON as Auth0 sent it, used as it is instead of encoding it again.
    """
    messages: list[Message] = []
    encoded: list[str] = []
    batch: list[Mapping[str, Any]] = []
    size = 2  # the brackets

    def flush() -> None:
        nonlocal encoded, batch, size
        if batch:
            messages.append(logs_message(encoded, batch))
        encoded, batch, size = [], [], 2

    for index, entry in enumerate(logs):
        text = texts[index] if texts is not None else dumps(entry)
        length = len(text.encode()) + 1  # and its comma
        if length + 2 > max_bytes:
            flush()
            messages.append(dead_letter_message(entry, f"log is {length - 1} bytes, over the SQS message limit"))
            continue
        if len(batch) == max_count or size + length > max_bytes:
            flush()
        encoded.append(text)
        batch.append(entry)
        size += length
    flush()
    return messages


class LogQueue:
    """Sends messages in order to the main queue or the dead-letter queue."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        dead_letter_queue_url: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.queue_url, self.dead_letter_queue_url = client, queue_url, dead_letter_queue_url
        self._sleep = sleep

    def send(self, messages: Sequence[Message]) -> None:
        """Send every message, in order, or raise QueueError naming how many were accepted."""
        accepted = 0
        for group in _requests(messages):
            failure = self._send_group(group)
            if failure is not None:
                index, problem = failure
                queue = "dead-letter queue" if group[0].dead_letter else "queue"
                raise QueueError(f"SQS {queue} did not accept a message: {problem}", accepted + index)
            accepted += len(group)

    def _send_group(self, group: list[Message]) -> tuple[int, str] | None:
        """Send one request's worth, retrying what failed; on failure, the first index not sent."""
        url = self.dead_letter_queue_url if group[0].dead_letter else self.queue_url
        pending = {str(index): message for index, message in enumerate(group)}
        problem = ""
        for delay in (*SEND_RETRY_DELAYS, None):
            try:
                reply = self.client.send_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {
                            "Id": key,
                            "MessageBody": m.body,
                            "MessageAttributes": m.sqs_attributes(),
                            "DelaySeconds": m.delay_seconds,
                        }
                        for key, m in pending.items()
                    ],
                )
            except (ClientError, BotoCoreError) as error:
                problem = _describe(error)
            else:
                failed = {entry["Id"]: entry for entry in reply.get("Failed", [])}
                pending = {key: m for key, m in pending.items() if key in failed}
                if not pending:
                    return None
                first = failed[min(pending, key=int)]
                problem = f"{first.get('Code')}: {first.get('Message', '')}"
                if any(entry.get("SenderFault") for entry in failed.values()):
                    break  # SQS will never take these as they are
            if delay is None:
                break
            self._sleep(delay * random.uniform(0.5, 1.0))
        return min(int(key) for key in pending), problem


def _requests(messages: Sequence[Message]) -> list[list[Message]]:
    """Group consecutive messages for one queue into SendMessageBatch requests within SQS limits."""
    groups: list[list[Message]] = []
    size = 0
    for message in messages:
        current = groups[-1] if groups else None
        if (
            current is None
            or current[0].dead_letter != message.dead_letter
            or len(current) == MAX_ENTRIES_PER_REQUEST
            or size + message.size > MAX_MESSAGE_BYTES
        ):
            groups.append([message])
            size = message.size
        else:
            current.append(message)
            size += message.size
    return groups


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'Error')}: {info.get('Message', '')}"
    return type(error).__name__
