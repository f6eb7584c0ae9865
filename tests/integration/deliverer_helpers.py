"""Helpers of the deliverer's tests: the queue as the poller fills it, the event source, the dead letters."""

from __future__ import annotations

from auth0_webhooks.queue import LogQueue, batch_messages

from devkit.aws import Stack
from devkit.event_source import SqsEventSource


def enqueue(stack: Stack, logs: list[dict], per_message: int = 10) -> None:
    """Put logs on the queue exactly as the poller does."""
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(batch_messages(logs, per_message))


def source(stack: Stack, batch_size: int = 10) -> SqsEventSource:
    return SqsEventSource(stack.client("sqs"), stack.queue_url, batch_size)


def hidden_count(stack: Stack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def dead_letters(stack: Stack) -> list[dict]:
    return stack.drain(stack.dead_letter_queue_url)
