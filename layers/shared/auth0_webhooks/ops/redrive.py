"""Replay the dead-letter queue: move dead-lettered logs back to the main queue, paced.

Each dead-letter message is received (which hides it from other runs for the visibility
timeout), sent to the main queue as a fresh message, and deleted from the dead-letter queue
only after SQS accepted that send. A crash in between leaves it in both queues: its logs may
be delivered twice (at least once), never lost. ``StartMessageMoveTask`` is not used: it
cannot choose messages, and moto lacks it. Its command is ``auth0-webhooks redrive``
(:mod:`.redrive_command`), with the options below.

- **What can move**: a JSON array of log entries that all have a ``log_id``, the main queue's
  format. Anything else stays where it is and is reported: a body that is not JSON or not an
  array, the poller's stub for a log too large for SQS, entries with no ``log_id``, an empty array.
- **Log types** (``--types s,f``): only the logs of those types move. A message of mixed types
  is split: its matching logs go to the main queue, the others go back to the dead-letter queue
  as a new message with the same attributes, and only then is the original deleted.
- **Route** (``--route ID``): only the dead letters of that route move (their ``route``
  attribute; a dead letter without one belongs to the route ``default``); the others are left
  as they are, and counted. A moved message keeps its ``route``, so the deliverer sends it to
  that route's destination again.
- **Count** (``--max-messages N``): at most N messages move (a split message counts as one).
- **Rate** (``--rate R``): at most R messages per second are sent to the main queue.
- **A fresh start**: the replayed message's attributes are rebuilt as the poller makes them, so
  the deliverer's ``attempts`` count is gone; the dead-letter ``reason`` and ``status`` are kept
  as ``previous_reason`` and ``previous_status``, and ``redriven_from`` names the old message.

>>> logs = replayable('[{"log_id": "900a", "type": "s"}, {"log_id": "900b", "type": "f"}]')
>>> logs
[{'log_id': '900a', 'type': 's'}, {'log_id': '900b', 'type': 'f'}]
>>> split(logs, frozenset({"f"}))
([{'log_id': '900b', 'type': 'f'}], [{'log_id': '900a', 'type': 's'}])
>>> replayable('{"log_id": "900c", "size_bytes": 2000000, "error": "log too large for an SQS message"}')
'a stub for log 900c, too large for SQS: read it with GET /api/v2/logs/900c'
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..dead_letters import REASON, ROUTE, remainder_message, replay_message
from ..log_entry import log_id, log_ids
from ..messages import Message
from ..routes.formats import DEFAULT_ROUTE_ID
from .aws import OperatorError, plain_error
from .redrive_report import Moved, RedriveReport, Skipped

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

DEFAULT_RATE = 5.0  # messages per second: up to 500 logs a second at the poller's batch size
MAX_VISIBILITY_SECONDS = 43_200  # SQS: 12 hours
MIN_VISIBILITY_SECONDS = 60
NO_REASON = "no reason attribute (moved by the queue's redrive policy)"


class RedriveError(OperatorError):
    """Something an operator can fix, said in plain words."""


@dataclass(frozen=True)
class RedriveOptions:
    queue_url: str
    dead_letter_queue_url: str
    log_types: frozenset[str] = frozenset()  # empty: every type
    route: str | None = None  # None: every route's dead letters
    max_messages: int | None = None  # None: every message that can move
    rate: float = DEFAULT_RATE  # messages per second sent to the main queue
    dry_run: bool = False
    visibility_timeout: int | None = None  # None: long enough for the whole run (see Redriver)
    wait_seconds: int = 1  # long polling, so that an empty receive means an empty queue


def replayable(body: str) -> list[dict[str, Any]] | str:
    """The logs of a dead-letter body, or in plain words why it must stay in the dead-letter queue."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError):
        return "not JSON"
    if isinstance(value, dict) and "error" in value and "size_bytes" in value:
        entry_id = log_id(value) or "?"
        return f"a stub for log {entry_id}, too large for SQS: read it with GET /api/v2/logs/{entry_id}"
    if not isinstance(value, list):
        return "not a JSON array of logs"
    if not value:
        return "an empty array"
    if any(log_id(entry) is None for entry in value):
        return "holds an entry with no log_id"
    return value


def split(
    logs: Sequence[dict[str, Any]], log_types: frozenset[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(logs to move, logs to keep): every log moves when no types are given."""
    if not log_types:
        return list(logs), []
    return [e for e in logs if e.get("type") in log_types], [e for e in logs if e.get("type") not in log_types]


@dataclass
class Pacer:
    """At most ``rate`` events a second, evenly spaced and never in bursts.

    >>> now = [0.0]
    >>> pacer = Pacer(2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> for _ in range(4):
    ...     pacer.wait()
    >>> pacer.slots
    [0.0, 0.5, 1.0, 1.5]
    """

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    slots: list[float] = field(default_factory=list)  # when each event was let through

    def wait(self) -> None:
        now = self.clock()
        slot = now if not self.slots else max(now, self.slots[-1] + 1 / self.rate)
        if slot > now:
            self.sleep(slot - now)
        self.slots.append(slot)


class Redriver:
    """One pass over the dead-letter queue. Messages it received but did not move are made
    visible again at the end (or after the visibility timeout, if the process dies)."""

    def __init__(self, sqs: SQSClient, options: RedriveOptions, pacer: Pacer | None = None) -> None:
        self.sqs, self.options = sqs, options
        self.pacer = pacer or Pacer(options.rate)

    def run(self) -> RedriveReport:
        report = RedriveReport(self.options.dry_run)
        held: dict[str, str] = {}  # message id → latest receipt handle: received, still in the dead-letter queue
        seen: set[str] = set()  # handled, or put back by this run (the rest of a split message)
        try:
            visibility = self.visibility_timeout()
            while not self._done(report):
                fresh = []
                for message in self._receive(visibility, report):
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    if message["MessageId"] not in seen:
                        seen.add(message["MessageId"])
                        fresh.append(message)
                if not fresh:
                    break
                for message in fresh:
                    if not self._done(report):
                        self._handle(message, report, held, seen)
        except RedriveError as error:
            report.error = str(error)
        except (ClientError, BotoCoreError) as error:
            report.error = plain_error(error)
        except KeyboardInterrupt:
            report.error = "interrupted; what is listed above moved, the rest is still in the dead-letter queue"
        finally:
            self._release(held)
        return report

    def visibility_timeout(self) -> int:
        """How long received messages stay hidden: the run's expected length and a minute, at least."""
        if self.options.visibility_timeout is not None:
            return self.options.visibility_timeout
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.options.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        count = int(attributes.get("ApproximateNumberOfMessages", "0"))
        if self.options.max_messages is not None:
            count = min(count, self.options.max_messages)
        seconds = MIN_VISIBILITY_SECONDS + math.ceil(1.5 * count / self.options.rate)
        return min(MAX_VISIBILITY_SECONDS, seconds)

    def _done(self, report: RedriveReport) -> bool:
        return self.options.max_messages is not None and len(report.moved) >= self.options.max_messages

    def _receive(self, visibility: int, report: RedriveReport) -> list[Any]:
        left = 10 if self.options.max_messages is None else self.options.max_messages - len(report.moved)
        reply = self.sqs.receive_message(
            QueueUrl=self.options.dead_letter_queue_url,
            MaxNumberOfMessages=max(1, min(10, left)),
            VisibilityTimeout=visibility,
            WaitTimeSeconds=self.options.wait_seconds,
            MessageAttributeNames=["All"],
        )
        return list(reply.get("Messages", []))

    def _handle(self, message: Any, report: RedriveReport, held: dict[str, str], seen: set[str]) -> None:
        message_id = message["MessageId"]
        attributes = {
            name: value["StringValue"]
            for name, value in message.get("MessageAttributes", {}).items()
            if "StringValue" in value
        }
        reason = attributes.get(REASON, NO_REASON)
        route = attributes.get(ROUTE) or DEFAULT_ROUTE_ID
        if self.options.route is not None and route != self.options.route:
            report.other_routes += 1
            return
        logs = replayable(message["Body"])
        if isinstance(logs, str):
            report.skipped.append(Skipped(message_id, logs, reason, route))
            return
        moving, staying = split(logs, self.options.log_types)
        if not moving:
            report.not_matching += 1
            return
        if not self.options.dry_run:
            self.pacer.wait()
            self._send(_with_route(replay_message(moving, attributes, message_id), attributes), message_id)
            if staying:
                seen.add(self._send(remainder_message(staying, attributes), message_id))
        report.moved.append(Moved(message_id, tuple(log_ids(moving)), reason, tuple(log_ids(staying)), route))
        if not self.options.dry_run:
            self.sqs.delete_message(QueueUrl=self.options.dead_letter_queue_url, ReceiptHandle=held.pop(message_id))

    def _send(self, message: Message, source_id: str) -> str:
        """Send one message; its id. A refusal stops the run with the source message still in place."""
        url = self.options.dead_letter_queue_url if message.dead_letter else self.options.queue_url
        try:
            reply = self.sqs.send_message(
                QueueUrl=url, MessageBody=message.body, MessageAttributes=message.sqs_attributes()
            )
        except (ClientError, BotoCoreError) as error:
            raise RedriveError(f"{plain_error(error)}; message {source_id} stays in the dead-letter queue") from None
        return reply["MessageId"]

    def _release(self, held: Mapping[str, str]) -> None:
        """Make what we received and did not move visible again now (best effort)."""
        handles = list(held.values())
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ]
            try:
                self.sqs.change_message_visibility_batch(
                    QueueUrl=self.options.dead_letter_queue_url,
                    Entries=entries,  # type: ignore[arg-type]
                )
            except (ClientError, BotoCoreError):
                return  # they come back by themselves when the visibility timeout ends


def _with_route(message: Message, attributes: Mapping[str, str]) -> Message:
    """The replayed message keeps its dead letter's ``route``: the deliverer picks that route's destination."""
    if ROUTE not in attributes:
        return message  # the route ``default``, as a message without the attribute means
    return replace(message, attributes={**message.attributes, ROUTE: attributes[ROUTE]})
