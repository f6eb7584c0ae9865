"""Poller and deliverer together: the local tenant → moto SQS → a local receiver."""

from __future__ import annotations

import json

from devkit.event_source import SqsEventSource
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.receivers import SlackReceiver, WebhookReceiver
from functions.deliverer.app import lambda_handler as deliver
from functions.poller.app import lambda_handler as poll
from tests.conftest import load_event, queued_ids

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_every_kept_log_arrives_and_the_refused_ones_sit_in_the_dead_letter_queue(
    poller_env, tenant, stack, monkeypatch
):
    factory = LogFactory(seed=42)
    logs = factory.many(400)
    tenant.add(logs)
    kept = [e for e in logs if e["type"] in ("s", "f", "fp", "sapi", "limit_wc")]
    refused = {kept[3]["log_id"], kept[77]["log_id"]}  # the receiver answers 400 for these, every time

    with WebhookReceiver(secret=SECRET) as webhook, SlackReceiver() as slack:
        webhook.failures.log_ids = dict.fromkeys(refused, 400)
        for name, value in {
            "LOG_TYPES": "s,f,fp,sapi,limit_wc",
            "BATCH_SIZE": "50",
            "WEBHOOK_URL": f"{webhook.url}/hook",
            "ALLOW_INSECURE_WEBHOOK": "true",
            "WEBHOOK_SECRET": SECRET,
            "SEND_AS_BATCH": "false",
            "SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/pipeline",
        }.items():
            monkeypatch.setenv(name, value)

        result = poll(load_event("scheduled.json"), LambdaContext(60))
        SqsEventSource(stack.client("sqs"), stack.queue_url).drain(deliver)

        assert result["read"] == 400 and result["kept"] == len(kept)
        assert webhook.delivered_ids == sorted(e["log_id"] for e in kept if e["log_id"] not in refused)
        assert all(d.verified for d in webhook.deliveries)
        dead = stack.drain(stack.dead_letter_queue_url)
        assert sorted(e["log_id"] for m in dead for e in json.loads(m["Body"])) == sorted(refused)
        assert queued_ids(stack) == []
        assert slack.titles() == ["Webhook delivery failed"] * 2
