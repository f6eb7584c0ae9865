"""The deliverer under hostile inputs, slow peers and a failing Slack (issue 8's deliverer items).

Time is driven by a scripted Lambda context (the remaining time each call reports) or bounded
by deadlines; no test races the wall clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from auth0_webhooks.deliverer import DUPLICATE_ID, build_deliverer
from auth0_webhooks.errors import ConfigError
from auth0_webhooks.queue import batch_messages
from auth0_webhooks.settings import DelivererSettings
from auth0_webhooks.webhook import MAX_RETRY_DELAY_SECONDS, UNSENDABLE_ID

from devkit.event_source import lambda_record
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.peers import MisbehavingPeer
from devkit.proxy import FaultProxy, sqs_action
from functions.deliverer.app import lambda_handler
from tests.conftest import ids_of, queued_ids
from tests.integration.deliverer_helpers import dead_letters, enqueue, source
from tests.integration.test_deliverer import deliverer_env  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("deliverer_env")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class ScriptedContext(LambdaContext):
    """A Lambda context whose remaining time is read from a script, one value per call (the last repeats)."""

    def __init__(self, *seconds: float) -> None:
        super().__init__(seconds[0], function_name="deliverer")
        self.script, self.calls = list(seconds), 0

    def get_remaining_time_in_millis(self) -> int:
        value = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return int(value * 1000)


def without_route_health(monkeypatch: pytest.MonkeyPatch) -> None:
    """No breaker, no record: each reading of a script is the start's or a POST's (a breaker call reads
    the time too, and holds a record it has no time to ask about: tests/integration/test_health_deadlines.py)."""
    monkeypatch.delenv("CHECKPOINT_TABLE")


def with_context(context: LambdaContext) -> Handler:
    return lambda event, _: lambda_handler(event, context)


def send_raw(stack, body: str, attributes: dict[str, str] | None = None) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.queue_url,
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()},
    )


def reasons(stack) -> list[str]:
    return sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in dead_letters(stack))


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# -- settings that cannot work ---------------------------------------------------------------


def test_an_authorization_http_cannot_carry_is_refused_at_start(stack, webhook, monkeypatch):
    monkeypatch.setenv("WEBHOOK_AUTHORIZATION", "Bearer €uro")
    enqueue(stack, LogFactory(seed=40).many(1))

    with pytest.raises(ConfigError) as raised:
        source(stack).poll_once(lambda_handler)

    assert raised.value.setting == "WEBHOOK_AUTHORIZATION" and "€uro" not in str(raised.value)
    assert webhook.deliveries == []


@pytest.mark.parametrize("timeout", ["59", "60"])
def test_a_timeout_that_leaves_no_time_in_the_function_is_refused(stack, webhook, monkeypatch, timeout):
    monkeypatch.setenv("WEBHOOK_TIMEOUT", timeout)
    enqueue(stack, LogFactory(seed=41).many(1))

    with pytest.raises(ConfigError) as raised:
        source(stack).poll_once(lambda_handler, seconds=60)

    assert raised.value.setting == "WEBHOOK_TIMEOUT" and "this invocation had 60" in str(raised.value)
    assert webhook.deliveries == []


# -- inputs that used to fail a record without a word -------------------------------------------


@pytest.mark.parametrize("batch", [True, False])
def test_a_log_with_a_lone_surrogate_is_delivered(stack, webhook, monkeypatch, batch):
    monkeypatch.setenv("SEND_AS_BATCH", str(batch).lower())
    logs = LogFactory(seed=42).many(3)
    logs[1]["description"] = "\ud800 broken"
    send_raw(stack, json.dumps(logs))  # json.dumps writes it as the escape Auth0 sent: \ud800

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    assert all(d.verified for d in webhook.deliveries)
    assert dead_letters(stack) == []


def test_a_refused_batch_with_a_lone_surrogate_is_dead_lettered_once(stack, webhook, caplog):
    logs = LogFactory(seed=43).many(3)
    logs[0]["description"] = "\ud800"
    send_raw(stack, json.dumps(logs))
    webhook.failures.next, webhook.failures.status = 5, 400

    source(stack).drain(lambda_handler)

    assert len(webhook.deliveries) == 1  # not POSTed again on every receive
    [dead] = dead_letters(stack)
    assert sorted(e["log_id"] for e in json.loads(dead["Body"])) == ids_of(logs)
    assert dead["MessageAttributes"]["reason"]["StringValue"].startswith("webhook refused it: HTTP 400")
    assert "logs dead-lettered" in warnings_of(caplog)


def test_a_log_id_http_cannot_carry_is_dead_lettered_with_the_reason(stack, webhook, monkeypatch):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    logs = LogFactory(seed=44).many(3)
    logs[2]["log_id"] = "9000€"
    send_raw(stack, json.dumps(logs))

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs[:2])
    [dead] = dead_letters(stack)
    assert json.loads(dead["Body"])[0]["log_id"] == "9000€"
    assert dead["MessageAttributes"]["reason"]["StringValue"] == UNSENDABLE_ID
    assert queued_ids(stack) == []


def test_an_error_nothing_handles_is_logged_and_dead_lettered(stack, webhook, caplog):
    body = json.dumps([{"no_id": "\ud800"}])  # a malformed entry that cannot even be encoded as it is
    send_raw(stack, body)

    assert source(stack).poll_once(lambda_handler) == (1, 0)

    [dead] = dead_letters(stack)
    assert dead["Body"] == body
    assert dead["MessageAttributes"]["reason"]["StringValue"] == "could not be handled: UnicodeEncodeError"
    assert "record failed" in warnings_of(caplog)
    assert "\\ud800" not in caplog.text and "no_id" not in caplog.text  # no log content in the log


@pytest.mark.parametrize(("header", "expected"), [("inf", MAX_RETRY_DELAY_SECONDS), ("86400", MAX_RETRY_DELAY_SECONDS)])
def test_retry_after_is_capped_at_what_sqs_allows(stack, webhook, monkeypatch, caplog, header, expected):
    proxy = FaultProxy(stack.endpoint).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        webhook.failures.next, webhook.failures.status, webhook.failures.retry_after = 1, 503, header
        enqueue(stack, LogFactory(seed=45).many(1))

        assert source(stack).poll_once(lambda_handler) == (1, 1)

        [change] = [json.loads(r.body) for r in proxy.seen if sqs_action("ChangeMessageVisibility")(r)]
        assert change["VisibilityTimeout"] == expected < 43_200
        assert "record handed back to SQS" in warnings_of(caplog)
    finally:
        proxy.stop()


# -- message attributes are not trusted ----------------------------------------------------------


def poller_attributes(logs: list[dict[str, Any]], **override: str) -> dict[str, str]:
    [message] = batch_messages(logs, 10)
    return {**message.attributes, **override}


def test_a_body_that_is_not_json_is_never_posted_whatever_its_attributes(stack, webhook):
    logs = LogFactory(seed=46).many(2)
    send_raw(stack, "<html>not logs</html>", poller_attributes(logs))

    source(stack).drain(lambda_handler)

    assert webhook.deliveries == []
    assert reasons(stack) == ["malformed message: not a JSON array of log entries"]


def test_the_count_comes_from_the_body_not_the_attributes(stack, webhook):
    logs = LogFactory(seed=47).many(3)
    send_raw(stack, json.dumps(logs), poller_attributes(logs, log_count="999"))
    messages = stack.client("sqs").receive_message(
        QueueUrl=stack.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    deliverer = build_deliverer(DelivererSettings.from_env())

    deliverer.process({"Records": [lambda_record(m, "arn:aws:sqs:us-east-1:123456789012:logs") for m in messages]})

    assert deliverer.stats.delivered == 3 and webhook.delivered_ids == ids_of(logs)


def test_single_mode_never_sends_two_bodies_under_one_webhook_id(stack, webhook, monkeypatch):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    logs = LogFactory(seed=48).many(3)
    twin = {**logs[0], "description": "a different body"}
    same = dict(logs[1])
    send_raw(stack, json.dumps([*logs, twin, same]))

    source(stack).drain(lambda_handler)

    webhook_ids = [d.request.headers["webhook-id"] for d in webhook.deliveries]
    assert sorted(webhook_ids) == sorted(ids_of(logs[1:]))  # one POST each; the conflicting id not at all
    [dead] = dead_letters(stack)
    assert [e["log_id"] for e in json.loads(dead["Body"])] == [logs[0]["log_id"]] * 2  # both: neither is sure
    assert dead["MessageAttributes"]["reason"]["StringValue"] == DUPLICATE_ID
    assert webhook.delivered_ids == ids_of(logs[1:])


# -- deadlines -------------------------------------------------------------------------------------


def test_time_is_checked_before_each_post_not_once_per_record(stack, webhook, monkeypatch):
    without_route_health(monkeypatch)
    monkeypatch.setenv("WEBHOOK_CONCURRENT_CALLS", "1")
    logs = LogFactory(seed=49).many(10)
    enqueue(stack, logs, per_message=1)
    # the start, then one reading per POST: three with time to spare, then too little (0.5 s after the reserve)
    context = ScriptedContext(60, 30, 30, 30, 2.5)
    events = source(stack)

    handed, failed = events.poll_once(with_context(context))

    assert (handed, failed) == (10, 7)
    assert len(webhook.deliveries) == 3 and dead_letters(stack) == []
    events.release_failed()
    events.drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)  # each once


def test_too_little_time_left_hands_the_records_back_untouched(stack, webhook, monkeypatch):
    without_route_health(monkeypatch)
    logs = LogFactory(seed=19).many(4)
    enqueue(stack, logs, per_message=2)
    events = source(stack)

    assert events.poll_once(with_context(ScriptedContext(60, 2.5))) == (2, 2)

    assert webhook.deliveries == [] and dead_letters(stack) == []
    events.release_failed()
    events.drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)


@pytest.mark.parametrize("mode", ["trickle-headers", "trickle-body"])
def test_a_trickling_receiver_cannot_hold_the_invocation(stack, monkeypatch, mode):
    without_route_health(monkeypatch)
    with MisbehavingPeer(mode, body_bytes=1000, interval=0.05) as peer:  # 50 s to answer in full
        monkeypatch.setenv("WEBHOOK_URL", peer.url)
        monkeypatch.setenv("WEBHOOK_TIMEOUT", "30")  # per read; the invocation has far less
        enqueue(stack, LogFactory(seed=50).many(2))
        context = ScriptedContext(60, 3.5)  # after the start: 1.5 s for the POST, past the reserve

        assert source(stack).poll_once(with_context(context)) == (1, 1)

        assert peer.requests == 1
        assert dead_letters(stack) == []


# -- Slack never affects delivery ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hang", "refuse"])
def test_slack_that_hangs_or_fails_never_affects_delivery(stack, webhook, monkeypatch, caplog, mode):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    logs = LogFactory(seed=51).many(6)
    webhook.failures.log_ids = {e["log_id"]: 400 for e in logs[:3]}
    enqueue(stack, logs)
    with MisbehavingPeer("hang" if mode == "hang" else "plain", status=503) as slack:
        monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", f"{slack.url}/services/{mode}")
        context = LambdaContext(8, function_name="deliverer")  # Slack may use a quarter of it: 2 s

        response = lambda_handler(
            {"Records": [lambda_record(m, "arn:aws:sqs:us-east-1:1:q") for m in stack.receive_all()]}, context
        )

        assert response == {"batchItemFailures": []}
        assert context.get_remaining_time_in_millis() > 0
        assert slack.requests >= 1  # an alert was attempted
    assert webhook.delivered_ids == ids_of(logs[3:])
    assert sorted(e["log_id"] for m in dead_letters(stack) for e in json.loads(m["Body"])) == ids_of(logs[:3])
    assert ("Slack alerts not sent in time" if mode == "hang" else "Slack post refused") in warnings_of(caplog)


def test_http_libraries_log_nothing_below_warning_at_debug(stack, webhook, slack, caplog):
    caplog.set_level(logging.DEBUG)
    webhook.failures.next, webhook.failures.status = 1, 400  # a Slack alert too
    enqueue(stack, LogFactory(seed=52).many(2))

    source(stack).drain(lambda_handler)

    chatty = [r.name for r in caplog.records if r.name.split(".")[0] in {"urllib3", "botocore", "boto3", "requests"}]
    assert [name for name in chatty if logging.getLogger(name).getEffectiveLevel() < logging.WARNING] == []
    assert not [r for r in caplog.records if r.name.startswith(("urllib3", "botocore")) and r.levelno < logging.WARNING]
    assert "slack-secret-part" not in caplog.text and "/auth0" not in caplog.text
    assert slack.payloads  # the alert went out
