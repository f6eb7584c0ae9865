"""A message held while its route is paused: sent again as a new message, its attempts kept.

SQS counts every receive, and the queue's redrive policy moves a message to the dead-letter
queue after ``maxReceiveCount`` receives, whether the deliverer tried to POST it or not. So a
held message is not merely hidden: :func:`hold` sends a copy (same body, same attributes) with
``attempts`` set to the attempts really made so far (this receive was no attempt) and a delay
of the probe interval, and the caller then reports the original record as done, so Lambda
deletes it. Each hold starts the copy's receive count again at zero: a pause of any length
never brings it closer to the dead-letter queue, and ``records.attempt_of`` still numbers its
next real attempt right. (Only ``attempts`` is added; SQS allows 10 per message: ``messages.fit``.)

>>> hold_delay(3600)
900
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dead_letters import ATTEMPTS
from ..messages import fit
from ..records import attempt_of

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_sqs import SQSClient

MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds


def hold_delay(seconds: float) -> int:
    """The delay SQS accepts for a probe interval of ``seconds`` (0 to 900)."""
    return max(0, min(MAX_DELAY_SECONDS, int(seconds)))


def held_message(record: SQSRecord, delay_seconds: float) -> dict[str, Any]:
    """The ``send_message`` arguments (without QueueUrl) that put ``record`` back, attempts kept."""
    raw = record.raw_event.get("messageAttributes") or {}
    attributes: dict[str, Any] = {
        name: {"DataType": value.get("dataType", "String"), "StringValue": value.get("stringValue") or ""}
        for name, value in raw.items()
        if value.get("stringValue") is not None
    }
    attributes[ATTEMPTS] = {"DataType": "Number", "StringValue": str(attempt_of(record) - 1)}
    return {"MessageBody": record.body, "MessageAttributes": fit(attributes), "DelaySeconds": hold_delay(delay_seconds)}


def hold(sqs: SQSClient, queue_url: str, record: SQSRecord, delay_seconds: float) -> None:
    """Send ``record`` back to ``queue_url`` to wait; the caller then reports the original done."""
    sqs.send_message(QueueUrl=queue_url, **held_message(record, delay_seconds))
