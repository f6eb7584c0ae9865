"""A receiver down for a while, then back: the breaker pauses, holds, probes and resumes; nothing lost.

The loop below is how the deliverer is to use the health API (admit, post or hold, record),
against moto's SQS (a redrive limit of 3 receives) and DynamoDB and a real local receiver.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from auth0_webhooks.health.breaker import Admit, Breaker, BreakerEvent, BreakerStore, Thresholds
from auth0_webhooks.health.holds import hold
from auth0_webhooks.webhook import WebhookClient
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from devkit.aws import create_stack
from devkit.event_source import lambda_record
from devkit.receivers import WebhookReceiver


def test_an_outage_pauses_the_route_holds_its_messages_and_every_one_arrives_after_recovery(moto: Any) -> None:
    stack = create_stack(moto.url, max_receive_count=3, visibility_timeout=0)
    sqs = stack.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = [f"msg_{n}" for n in range(12)]
    for webhook_id in sent:
        sqs.send_message(
            QueueUrl=stack.queue_url,
            MessageBody="[]",
            MessageAttributes={"webhook_id": {"DataType": "String", "StringValue": webhook_id}},
        )
    now = [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)]
    breaker = Breaker(BreakerStore(stack.client("dynamodb"), stack.table), Thresholds(), lambda: now[0])
    events: list[BreakerEvent] = []
    delivered: list[str] = []
    with WebhookReceiver() as receiver, requests.Session() as session:
        receiver.failures.next = 14  # down for the first 14 requests: 10 to pause, then 4 probes
        client = WebhookClient(receiver.url, session, timeout=5)
        for _ in range(60):  # rounds, 20 s apart
            messages = sqs.receive_message(
                QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            ).get("Messages", [])
            for message in messages:
                record = SQSRecord(lambda_record(message, arn))
                decision = breaker.admit("default")
                events += decision.events
                if decision.action is Admit.HOLD:
                    hold(sqs, stack.queue_url, record, delay_seconds=0)
                    sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    continue
                webhook_id = message["MessageAttributes"]["webhook_id"]["StringValue"]
                outcome = client.post(webhook_id, b"[]")
                events += breaker.record("default", outcome, probe=decision.action is Admit.PROBE)
                if outcome.ok:
                    delivered.append(webhook_id)
                    sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
            now[0] += timedelta(seconds=20)
            if len(delivered) == len(sent):
                break

    dead = sqs.receive_message(QueueUrl=stack.dead_letter_queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert dead == []
    assert sorted(delivered) == sorted(sent)
    assert [e.kind for e in events] == ["paused", "resumed"]
    assert receiver.failures.next == 0  # the outage was used up: probes, not every message, tested it
