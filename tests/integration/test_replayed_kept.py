"""A replayed log stays replayed wherever the deliverer sends it next: a retry, a hold, the
dead-letter queue, and the redrive back from it; and it is POSTed with ``webhook-replayed: true``.

Every test names the exact log ids that moved and reads the ``replayed`` attribute off the real queue.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from auth0_webhooks.dead_letters import ROUTE
from auth0_webhooks.health.holds import held_message
from auth0_webhooks.messages import MAX_ATTRIBUTES, mark_replayed
from auth0_webhooks.ops.redrive import RedriveOptions, Redriver
from auth0_webhooks.queue import LogQueue, batch_messages
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from devkit.aws import Stack
from devkit.event_source import lambda_record
from devkit.logs import LogFactory
from devkit.receivers import WebhookReceiver
from functions.deliverer.app import lambda_handler
from tests.conftest import AUTHORIZATION, SIGNING_SECRET, ids_of, set_environ
from tests.integration.deliverer_helpers import dead_letters, source


@pytest.fixture
def env(stack: Stack, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "WEBHOOK_URL": f"{webhook.url}/auth0",
        "ALLOW_INSECURE_WEBHOOK": "true",
        "WEBHOOK_AUTHORIZATION": AUTHORIZATION,
        "WEBHOOK_SECRET": SIGNING_SECRET,
        "MAX_RECEIVE_COUNT": "3",
        "WEBHOOK_TIMEOUT": "2",
        "RETRY_BASE_SECONDS": "1",
        **stack.environ(),
    }
    unset = ("SEND_AS_BATCH", "ROUTES_FILE", "WEBHOOK_SECRET_ARN", "WEBHOOK_AUTHORIZATION_ARN")
    return set_environ(monkeypatch, values, unset)


def replay(stack: Stack, logs: list[dict[str, Any]], route: str | None = None) -> None:
    """Queue ``logs`` as ``auth0-webhooks replay`` does: marked ``replayed``."""
    messages = [mark_replayed(m) for m in batch_messages(logs, 10)]
    if route is not None:
        messages = [replace(m, attributes={**m.attributes, ROUTE: route}) for m in messages]
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(messages)


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}


def ids_in(message: dict[str, Any]) -> list[str]:
    value = json.loads(message["Body"])
    return sorted(e["log_id"] for e in (value if isinstance(value, list) else [value]))


def wait_for_queued(stack: Stack) -> list[dict[str, Any]]:
    """The messages a backoff delayed by a second: waited for (a bound on rounds, not a race on time)."""
    for _ in range(300):
        messages = stack.drain()
        if messages:
            return messages
        threading.Event().wait(0.1)
    raise AssertionError("nothing came back to the queue")


def replayed_headers(webhook: WebhookReceiver, log_id: str) -> list[str | None]:
    return [d.request.headers.get("webhook-replayed") for d in webhook.deliveries if log_id in d.log_ids]


def test_a_replayed_log_retried_alone_in_single_mode_stays_replayed(env, stack, webhook, monkeypatch):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    logs = LogFactory(seed=301).many(4)
    failing = logs[1]["log_id"]
    webhook.failures.log_ids = {failing: 503}
    replay(stack, logs)

    assert source(stack).poll_once(lambda_handler) == (1, 0)

    [again] = wait_for_queued(stack)
    assert ids_in(again) == [failing]
    assert attributes(again)["replayed"] == "true" and attributes(again)["attempts"] == "1"

    webhook.failures.log_ids = {}
    stack.client("sqs").send_message(
        QueueUrl=stack.queue_url, MessageBody=again["Body"], MessageAttributes=again["MessageAttributes"]
    )
    source(stack).drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)
    assert replayed_headers(webhook, failing) == ["true", "true"]  # the failed POST and its retry


def test_replayed_dead_letters_stay_replayed_and_the_redrive_keeps_it(env, stack, webhook):
    logs = LogFactory(seed=302).many(3)
    webhook.failures.log_ids = {logs[0]["log_id"]: 404}
    stack.client("sqs").send_message(  # a replayed message with one entry that is no log
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps([*logs, {"type": "f"}]),
        MessageAttributes={"replayed": {"DataType": "String", "StringValue": "true"}},
    )
    stack.client("sqs").send_message(
        QueueUrl=stack.queue_url,
        MessageBody="not json",
        MessageAttributes={"replayed": {"DataType": "String", "StringValue": "true"}},
    )

    source(stack).drain(lambda_handler)

    dead = dead_letters(stack)
    assert sorted(attributes(m)["reason"][:16] for m in dead) == [
        "malformed log: n",
        "malformed messag",
        "webhook refused ",
    ]
    assert all(attributes(m)["replayed"] == "true" for m in dead)
    [refused] = [m for m in dead if attributes(m)["reason"].startswith("webhook refused")]
    assert ids_in(refused) == ids_of(logs)  # batch mode: one POST, refused as a whole
    assert all(len(m["MessageAttributes"]) <= MAX_ATTRIBUTES for m in dead)  # SQS refuses more (moto does not)
    assert set(attributes(refused)) == {
        *("content", "log_count", "first_log_id", "last_log_id", "webhook_id"),
        *("reason", "status", "attempts", "route", "replayed"),  # what the body cannot say is all kept
    }

    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=stack.dead_letter_queue_url,
        MessageBody=refused["Body"],
        MessageAttributes=refused["MessageAttributes"],
    )
    options = RedriveOptions(stack.queue_url, stack.dead_letter_queue_url, rate=1000.0, wait_seconds=0)
    report = Redriver(sqs, options).run()

    assert report.moved_log_ids == ids_of(logs)
    [moved] = stack.drain()
    assert ids_in(moved) == ids_of(logs) and attributes(moved)["replayed"] == "true"
    webhook.failures.log_ids = {}
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=moved["Body"], MessageAttributes=moved["MessageAttributes"])
    source(stack).drain(lambda_handler)
    assert replayed_headers(webhook, logs[0]["log_id"]) == ["true", "true"]


def test_a_replayed_log_held_while_its_route_pauses_stays_replayed(stack, monkeypatch, tmp_path: Path):
    with WebhookReceiver() as receiver:
        routes = tmp_path / "routes.yaml"
        route = {
            "id": "siem",
            "destination": {"type": "webhook", "url": f"{receiver.url}/in", "allow_insecure": True, "batch_size": 1},
        }
        routes.write_text(yaml.safe_dump({"version": 1, "routes": [route]}))
        values = {"ROUTES_FILE": str(routes), "MAX_RECEIVE_COUNT": "3", "BREAKER_PROBE_SECONDS": "0", **stack.environ()}
        set_environ(monkeypatch, values, ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION", "SEND_AS_BATCH"))
        logs = LogFactory(seed=303).many(3)
        gone = logs[2]["log_id"]
        receiver.failures.log_ids = {gone: 410}  # 410 pauses the route at once: the log waits for the probe
        replay(stack, logs, route="siem")

        assert source(stack).poll_once(lambda_handler) == (1, 0)

        [held] = stack.drain()
        assert ids_in(held) == [gone]
        assert attributes(held)["replayed"] == "true" and attributes(held)["route"] == "siem"
        assert receiver.delivered_ids == ids_of(logs[:2])


def test_a_whole_held_message_keeps_every_attribute_replayed_included(stack):
    sqs = stack.client("sqs")
    [message] = [mark_replayed(m) for m in batch_messages(LogFactory(seed=304).many(2), 10)]
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message.body, MessageAttributes=message.sqs_attributes())
    [received] = stack.drain()
    arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    again = held_message(SQSRecord(lambda_record(received, arn)), 60)

    assert again["MessageAttributes"]["replayed"]["StringValue"] == "true"
    assert again["MessageBody"] == message.body
