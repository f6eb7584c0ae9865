"""The poller and the deliverer on template.yaml's own queues, table and secrets, with every setting from it."""

from __future__ import annotations

import json
import time
from typing import Any

from devkit.event_source import SqsEventSource
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.receivers import SlackReceiver, WebhookReceiver
from devkit.template import TemplateStack, stack_from_template
from devkit.tenant import LocalTenant
from functions.deliverer.app import lambda_handler as deliver
from functions.poller.app import lambda_handler as poll
from tests.conftest import load_event
from tests.integration.conftest import AUTHORIZATION, LOCAL_SETTINGS, PARAMETERS, SIGNING_SECRET, use_environ

KEPT_TYPES = ("s", "f", "fp", "sapi", "limit_wc")
# Local only: a one-second backoff instead of 30 s doubling, so the retries happen within the test.
QUICK_RETRIES = {"RETRY_BASE_SECONDS": "1", "RETRY_MAX_SECONDS": "1"}


def settled(stack: TemplateStack) -> bool:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=names)
    return all(value == "0" for value in attributes["Attributes"].values())


def deliver_until_settled(stack: TemplateStack, seconds: float = 30.0) -> None:
    """Lambda's event source, with time passing: failed records come back, delayed ones appear."""
    events = SqsEventSource(stack.client("sqs"), stack.queue_url)
    deadline = time.monotonic() + seconds
    while not settled(stack):
        assert time.monotonic() < deadline, "the queue did not empty"
        events.drain(deliver)
        events.release_failed()
        time.sleep(0.2)


def dead_letters(stack: TemplateStack) -> dict[str, dict[str, Any]]:
    """Each dead-lettered log id with the attributes of the message that holds it."""
    found = {}
    for message in stack.drain(stack.dead_letter_queue_url):
        attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
        for entry in json.loads(message["Body"]):
            found[entry["log_id"]] = attributes
    return found


def test_every_kept_log_arrives_once_and_the_failures_end_in_the_dead_letter_queue(moto, monkeypatch, cold_powertools):
    parameters = {**PARAMETERS, "LogTypes": ",".join(KEPT_TYPES), "BatchSize": 50, "SendAsBatch": "false"}
    stack = stack_from_template(moto.url, {**parameters, "MaxReceiveCount": 3})
    logs = LogFactory(seed=31).many(200)
    kept = [entry["log_id"] for entry in logs if entry["type"] in KEPT_TYPES]
    failing, refused = kept[10], kept[40]  # the receiver answers 503 to one every time, 400 to the other

    receiver = WebhookReceiver(secret=SIGNING_SECRET, authorization=AUTHORIZATION)
    with LocalTenant() as tenant, receiver as webhook, SlackReceiver() as slack:
        tenant.add(logs)
        webhook.failures.log_ids = {failing: 503, refused: 400}
        stack.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0/B0/x")  # a local Slack
        use_environ(monkeypatch, stack, "poller", AUTH0_DOMAIN=tenant.url)
        result = poll(load_event("scheduled.json"), LambdaContext(60))
        assert (result["read"], result["enqueued"], result["stopped"]) == (200, len(kept), "caught-up")

        use_environ(
            monkeypatch, stack, "deliverer", WEBHOOK_URL=f"{webhook.url}/auth0", **LOCAL_SETTINGS, **QUICK_RETRIES
        )
        deliver_until_settled(stack)

    assert webhook.delivered_ids == sorted(set(kept) - {failing, refused})
    assert all(delivery.verified for delivery in webhook.deliveries)
    dead = dead_letters(stack)
    assert set(dead) == {failing, refused}
    assert dead[refused]["status"] == "400" and dead[refused]["reason"].startswith("webhook refused it")
    # the deliverer gives up on the template's MaxReceiveCount, before SQS would move it without a reason
    assert dead[failing]["reason"].startswith("gave up after 3 attempts")
    assert len([d for d in webhook.deliveries if failing in d.log_ids]) == 3
    assert slack.titles() == ["Webhook delivery failed"] * 2
    checkpoint = stack.client("dynamodb").get_item(TableName=stack.table, Key={"pk": {"S": tenant.url.split("//")[1]}})
    assert checkpoint["Item"]["log_id"]["S"] == max(entry["log_id"] for entry in logs)
