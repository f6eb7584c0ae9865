"""The alerter: alarm changes from the SNS topic to Slack, with the Slack URL from the template's secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from auth0_webhooks.alerts import GREEN, RED

from devkit.lambda_context import LambdaContext
from devkit.receivers import SlackReceiver, payload_fields
from functions.alerter.app import lambda_handler
from tests.conftest import load_event
from tests.integration.conftest import use_environ


@pytest.fixture
def slack(template_stack, monkeypatch, cold_powertools) -> Iterator[SlackReceiver]:
    with SlackReceiver() as server:
        template_stack.set_secret("SecretSlackIncomingWebhookUrl", f"{server.url}/services/T0/B0/alerter")
        use_environ(monkeypatch, template_stack, "alerter")
        yield server


def alert(event: Any) -> dict[str, Any]:
    response: dict[str, Any] = lambda_handler(event, LambdaContext(10))  # type: ignore[arg-type]
    return response


def sns(*messages: str) -> dict[str, Any]:
    event = load_event("alarm-sns.json")
    record = event["Records"][0]
    return {"Records": [{**record, "Sns": {**record["Sns"], "Message": message}} for message in messages]}


def test_an_alarm_is_posted_with_its_state_reason_and_console_link(slack):
    event = load_event("alarm-sns.json")
    reason = json.loads(event["Records"][0]["Sns"]["Message"])["NewStateReason"]

    assert alert(event) == {"posted": 1, "skipped": 0}

    [payload] = slack.payloads
    [attachment] = payload["attachments"]
    assert attachment["fallback"] == "auth0-webhooks-dead-letters is ALARM"
    assert attachment["color"] == RED
    assert payload_fields(payload) == {
        "Reason": reason,
        "Console": "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#alarmsV2:alarm/auth0-webhooks-dead-letters",
    }


def test_a_recovery_is_posted_green(slack):
    message = json.loads(load_event("alarm-sns.json")["Records"][0]["Sns"]["Message"])
    message.update(NewStateValue="OK", OldStateValue="ALARM", NewStateReason="Threshold Crossed: no datapoints")

    assert alert(sns(json.dumps(message))) == {"posted": 1, "skipped": 0}

    [payload] = slack.payloads
    assert (payload["attachments"][0]["fallback"], payload["attachments"][0]["color"]) == (
        "auth0-webhooks-dead-letters is OK",
        GREEN,
    )


@pytest.mark.parametrize(
    ("event", "skipped"),
    [
        ({}, 0),
        ({"Records": "junk"}, 0),
        ({"Records": [{"eventSource": "aws:sqs", "body": "[]"}]}, 1),
        (sns("hello"), 1),
        (sns('{"AlarmName": "x", "NewStateValue": "ALARM"}'), 1),  # no AlarmArn
        (sns(json.dumps({"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe"})), 1),
    ],
)
def test_anything_that_is_not_an_alarm_change_is_skipped_without_a_crash(slack, event, skipped):
    assert alert(event) == {"posted": 0, "skipped": skipped}
    assert slack.payloads == []


def test_junk_beside_an_alarm_does_not_stop_it(slack):
    alarm = load_event("alarm-sns.json")["Records"][0]["Sns"]["Message"]
    assert alert(sns("not json", alarm)) == {"posted": 1, "skipped": 1}
    assert slack.titles() == ["auth0-webhooks-dead-letters is ALARM"]


def test_slack_being_down_does_not_fail_the_alerter(slack):
    slack.fail_status = 503
    assert alert(load_event("alarm-sns.json")) == {"posted": 0, "skipped": 0}
