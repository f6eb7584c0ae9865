"""A message held through a long pause never approaches the queue's redrive limit."""

from __future__ import annotations

from typing import Any

from auth0_webhooks.health.holds import hold
from auth0_webhooks.records import attempt_of
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from devkit.aws import Stack, create_stack
from devkit.event_source import lambda_record


def receive(stack: Stack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def test_a_held_message_waits_through_many_receives_and_never_reaches_the_dead_letter_queue(moto: Any) -> None:
    stack = create_stack(moto.url, max_receive_count=2, visibility_timeout=0)
    sqs = stack.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody='[{"log_id":"a"}]',
        MessageAttributes={
            "webhook_id": {"DataType": "String", "StringValue": "msg_1"},
            "attempts": {"DataType": "Number", "StringValue": "1"},  # one real attempt before the pause
        },
    )
    for _ in range(20):  # twenty probe intervals paused: held each time it comes back
        (message,) = receive(stack)
        record = SQSRecord(lambda_record(message, arn))
        hold(sqs, stack.queue_url, record, delay_seconds=0)
        sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])  # reported done

    assert receive_dead(stack) == []
    (message,) = receive(stack)
    record = SQSRecord(lambda_record(message, arn))
    assert message["Body"] == '[{"log_id":"a"}]'
    assert message["MessageAttributes"]["webhook_id"]["StringValue"] == "msg_1"
    assert attempt_of(record) == 2  # its next real attempt is its second, as before the pause


def test_without_holds_the_same_receives_would_dead_letter_it(moto: Any) -> None:
    stack = create_stack(moto.url, max_receive_count=2, visibility_timeout=0)
    stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody="[]")
    for _ in range(3):
        receive(stack)

    assert len(receive_dead(stack)) == 1


def receive_dead(stack: Stack) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        stack.client("sqs")
        .receive_message(QueueUrl=stack.dead_letter_queue_url, MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return messages
