"""Size-aware SQS batches of logs, sent in order to the queue or the dead-letter queue.

A message body is a JSON array of log entries (:mod:`.messages`), kept under the SQS limit
(1 MiB for body and attributes together). A log that cannot fit in a message on its own, and an entry
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

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .dead_letters import dead_letter_message
from .errors import QueueError
from .messages import MAX_BODY_BYTES, MAX_MESSAGE_BYTES, Message, dumps, logs_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_ENTRIES_PER_REQUEST = 10
SEND_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds before each retry of what SQS did not accept


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
