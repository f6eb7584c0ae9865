"""The deliverer handler against moto's SQS and real local webhook and Slack receivers."""

from __future__ import annotations

import json
import threading

import pytest
from auth0_webhooks.errors import ConfigError
from auth0_webhooks.messages import mark_replayed
from auth0_webhooks.queue import LogQueue, batch_messages
from auth0_webhooks.signing import batch_id

from devkit.event_source import lambda_record
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.peers import MisbehavingPeer
from devkit.proxy import FaultProxy, sqs_action
from devkit.receivers import payload_fields
from functions.deliverer.app import lambda_handler
from tests.conftest import AUTHORIZATION, ids_of, queued_ids, set_environ
from tests.conftest import SIGNING_SECRET as SECRET
from tests.integration.deliverer_helpers import dead_letters, enqueue, hidden_count, source


@pytest.fixture
def deliverer_env(stack, webhook, slack, monkeypatch):
    values = {
        "WEBHOOK_URL": f"{webhook.url}/auth0",
        "ALLOW_INSECURE_WEBHOOK": "true",
        "WEBHOOK_AUTHORIZATION": AUTHORIZATION,
        "WEBHOOK_SECRET": SECRET,
        "SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/T000/B000/slack-secret-part",
        "MAX_RECEIVE_COUNT": "3",
        "WEBHOOK_TIMEOUT": "2",
        **stack.environ(),
    }
    unset = (
        "SEND_AS_BATCH",
        "WEBHOOK_CONCURRENT_CALLS",
        "RETRY_BASE_SECONDS",
        "WEBHOOK_SECRET_ARN",
        "WEBHOOK_AUTHORIZATION_ARN",
    )
    set_environ(monkeypatch, values, unset)
    return values


def test_batch_mode_posts_one_signed_array_per_message(deliverer_env, stack, webhook):
    logs = LogFactory(seed=1).many(25)
    enqueue(stack, logs)

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    assert len(webhook.deliveries) == 3
    for delivery in webhook.deliveries:
        headers = delivery.request.headers
        body = json.loads(delivery.request.body)
        assert isinstance(body, list)
        assert delivery.verified is True  # checked by the standardwebhooks package
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("auth0-webhooks/")
        assert headers["authorization"] == AUTHORIZATION
        assert headers["webhook-id"] == batch_id([e["log_id"] for e in body])
    assert queued_ids(stack) == [] and dead_letters(stack) == []


def test_a_replayed_message_is_posted_with_the_replayed_header_and_the_live_webhook_id(deliverer_env, stack, webhook):
    logs = LogFactory(seed=61).many(12)
    live, replay = batch_messages(logs[:6], 10), [mark_replayed(m) for m in batch_messages(logs[6:], 10)]
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(live + replay)

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    by_first = {json.loads(d.request.body)[0]["log_id"]: d.request.headers for d in webhook.deliveries}
    live_headers, replay_headers = by_first[logs[0]["log_id"]], by_first[logs[6]["log_id"]]
    assert "webhook-replayed" not in live_headers
    assert replay_headers["webhook-replayed"] == "true"
    assert replay_headers["webhook-id"] == batch_id(ids_of(logs[6:]))  # as the live delivery of that batch


def test_single_mode_posts_each_log_with_its_id(deliverer_env, stack, webhook, monkeypatch):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    logs = LogFactory(seed=2).many(12)
    enqueue(stack, logs)

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    assert len(webhook.deliveries) == 12
    for delivery in webhook.deliveries:
        body = json.loads(delivery.request.body)
        assert isinstance(body, dict)
        assert delivery.request.headers["webhook-id"] == body["log_id"]
        assert delivery.verified is True


def test_a_receiver_with_another_secret_rejects_the_signature(deliverer_env, stack, webhook):
    webhook.secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    logs = LogFactory(seed=3).many(3)
    enqueue(stack, logs)

    source(stack).drain(lambda_handler)

    assert [d.verified for d in webhook.deliveries] == [False]
    [dead] = dead_letters(stack)
    assert sorted(e["log_id"] for e in json.loads(dead["Body"])) == ids_of(logs)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_statuses_are_retried_later(deliverer_env, stack, webhook, status):
    webhook.failures.next, webhook.failures.status = 1, status
    logs = LogFactory(seed=4).many(5)
    enqueue(stack, logs)

    events = source(stack)
    handed, failed = events.poll_once(lambda_handler)

    assert (handed, failed) == (1, 1)
    assert webhook.delivered_ids == []
    assert hidden_count(stack) == 1 and dead_letters(stack) == []
    events.release_failed()
    events.drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)


@pytest.mark.parametrize("status", [301, 400, 404, 422])  # 401, 403, 410 pause the route: test_route_health
def test_permanent_statuses_go_to_the_dead_letter_queue_at_once(deliverer_env, stack, webhook, slack, status):
    webhook.failures.next, webhook.failures.status = 1, status
    logs = LogFactory(seed=5).many(4)
    enqueue(stack, logs)

    assert source(stack).poll_once(lambda_handler) == (1, 0)

    [dead] = dead_letters(stack)
    assert sorted(e["log_id"] for e in json.loads(dead["Body"])) == ids_of(logs)
    attributes = dead["MessageAttributes"]
    assert attributes["status"]["StringValue"] == str(status)
    assert f"HTTP {status}" in attributes["reason"]["StringValue"]
    assert queued_ids(stack) == []
    [title] = slack.titles()
    assert title == ("Webhook endpoint is gone (410): fix WEBHOOK_URL" if status == 410 else "Webhook delivery failed")


def test_a_timeout_is_retried(deliverer_env, stack, webhook, monkeypatch):
    logs = LogFactory(seed=6).many(2)
    enqueue(stack, logs)
    events = source(stack)
    with MisbehavingPeer("hang") as silent:  # never answers: the timeout is certain, not a race
        monkeypatch.setenv("WEBHOOK_URL", silent.url)
        assert events.poll_once(lambda_handler) == (1, 1)
        assert silent.requests == 1

    monkeypatch.setenv("WEBHOOK_URL", deliverer_env["WEBHOOK_URL"])
    events.release_failed()
    events.drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)


def test_only_the_failed_records_are_reported(deliverer_env, stack, webhook):
    logs = LogFactory(seed=7).many(30)
    enqueue(stack, logs)
    webhook.failures.log_ids = {logs[15]["log_id"]: 503}  # in the second message
    sqs = stack.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    event = {"Records": [lambda_record(m, "arn:aws:sqs:us-east-1:123456789012:logs") for m in messages]}
    second = next(m["MessageId"] for m in messages if logs[15]["log_id"] in m["Body"])

    response = lambda_handler(event, LambdaContext(60))

    assert response == {"batchItemFailures": [{"itemIdentifier": second}]}
    assert webhook.delivered_ids == ids_of(logs[:10] + logs[20:])


def test_backoff_sets_the_visibility_from_the_attempt_and_retry_after(
    deliverer_env, stack, webhook, slack, monkeypatch
):
    proxy = FaultProxy(stack.endpoint).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        webhook.failures.next, webhook.failures.status = 10, 503
        logs = LogFactory(seed=8).many(3)
        enqueue(stack, logs)

        def visibilities() -> list[int]:
            return [
                json.loads(r.body)["VisibilityTimeout"] for r in proxy.seen if sqs_action("ChangeMessageVisibility")(r)
            ]

        events = source(stack)
        events.poll_once(lambda_handler)  # attempt 1: 15-30 s
        events.release_failed()
        events.poll_once(lambda_handler)  # attempt 2: 30-60 s
        events.release_failed()
        events.poll_once(lambda_handler)  # attempt 3 = MAX_RECEIVE_COUNT: dead-lettered by the deliverer

        first, second = visibilities()
        assert 15 <= first <= 30 and 30 <= second <= 60
        [dead] = dead_letters(stack)
        assert sorted(e["log_id"] for e in json.loads(dead["Body"])) == ids_of(logs)
        assert dead["MessageAttributes"]["reason"]["StringValue"].startswith("gave up after 3 attempts: HTTP 503")
        assert queued_ids(stack) == []
        assert "Webhook delivery failed" in slack.titles()
    finally:
        proxy.stop()


def test_retry_after_is_honoured(deliverer_env, stack, webhook, monkeypatch):
    proxy = FaultProxy(stack.endpoint).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        webhook.failures.next, webhook.failures.status, webhook.failures.retry_after = 1, 429, "120"
        enqueue(stack, LogFactory(seed=9).many(1))

        source(stack).poll_once(lambda_handler)

        [change] = [json.loads(r.body) for r in proxy.seen if sqs_action("ChangeMessageVisibility")(r)]
        assert change["VisibilityTimeout"] == 120
    finally:
        proxy.stop()


def test_single_mode_retries_only_the_logs_that_failed(deliverer_env, stack, webhook, monkeypatch):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    monkeypatch.setenv("RETRY_BASE_SECONDS", "1")
    logs = LogFactory(seed=10).many(6)
    enqueue(stack, logs)
    failing = {logs[1]["log_id"], logs[4]["log_id"]}
    webhook.failures.log_ids = dict.fromkeys(failing, 503)

    assert source(stack).poll_once(lambda_handler) == (1, 0)  # the record itself succeeded

    requeued: list[dict] = []
    for _ in range(300):  # delayed 1 s by the backoff: wait for it to become visible (a bound, not a race)
        requeued = stack.drain()
        if requeued:
            break
        threading.Event().wait(0.1)
    [message] = requeued
    assert sorted(e["log_id"] for e in json.loads(message["Body"])) == sorted(failing)
    assert message["MessageAttributes"]["attempts"]["StringValue"] == "1"
    assert webhook.delivered_ids == sorted(set(ids_of(logs)) - failing)

    webhook.failures.log_ids = {}
    enqueue_raw = stack.client("sqs").send_message
    enqueue_raw(
        QueueUrl=stack.queue_url,
        MessageBody=message["Body"],
        MessageAttributes={"attempts": {"DataType": "Number", "StringValue": "1"}},
    )
    source(stack).drain(lambda_handler)
    assert webhook.delivered_ids == ids_of(logs)  # each log once: the delivered ones were not sent again


def test_a_poison_message_goes_to_the_dead_letter_queue_and_the_rest_are_delivered(deliverer_env, stack, webhook):
    logs = LogFactory(seed=11).many(10)
    enqueue(stack, logs[:5])
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody="this is not json")
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps([*logs[5:], {"type": "s", "no": "id"}]))

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in dead_letters(stack))
    assert reasons == ["malformed log: no log_id or _id", "malformed message: not a JSON array of log entries"]
    assert queued_ids(stack) == []


def test_slack_alerts_never_show_a_secret(deliverer_env, stack, webhook, slack, monkeypatch):
    monkeypatch.setenv(
        "WEBHOOK_URL", webhook.url.replace("http://", "http://user:url-password@") + "/in?token=url-secret"
    )
    webhook.authorization = None  # requests sends the URL's user:password as Basic auth instead
    webhook.failures.next, webhook.failures.status = 1, 400
    enqueue(stack, LogFactory(seed=12).many(2))

    source(stack).drain(lambda_handler)

    [payload] = slack.payloads
    text = json.dumps(payload)
    for secret in ("url-password", "url-secret", "s3cr3t-token-value", SECRET, "slack-secret-part", "/in"):
        assert secret not in text
    fields = payload_fields(payload)
    assert fields["Endpoint"] == f"http://127.0.0.1:{webhook.port}/…"
    assert fields["Status"] == "400"
    assert fields["Logs"].startswith("2: ")


def test_slack_is_rate_limited_and_its_outage_never_breaks_delivery(
    deliverer_env, stack, webhook, slack, monkeypatch, caplog
):
    monkeypatch.setenv("SEND_AS_BATCH", "false")
    monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", f"{slack.url}/services/rate-limit-test")
    logs = LogFactory(seed=13).many(40)
    enqueue(stack, logs, per_message=1)
    webhook.failures.log_ids = {e["log_id"]: 400 for e in logs[:30]}

    source(stack).drain(lambda_handler)

    assert len(slack.payloads) == 5  # the burst; the other 25 alerts are held back and counted
    assert webhook.delivered_ids == ids_of(logs[30:])

    # Slack goes down: a fresh notifier (another URL, a full budget) tries, is refused, and delivery goes on
    slack.fail_status = 503
    monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", f"{slack.url}/services/outage-test")
    more = LogFactory(seed=14).many(3)
    webhook.failures.log_ids = {more[0]["log_id"]: 400}
    enqueue(stack, more, per_message=1)
    caplog.clear()
    source(stack).drain(lambda_handler)

    assert [r.getMessage() for r in caplog.records if r.name.endswith("alerts")] == ["Slack post refused"]
    assert webhook.delivered_ids == sorted(ids_of(logs[30:] + more[1:]))
    [dead] = stack.drain(stack.dead_letter_queue_url)[-1:]
    assert [e["log_id"] for e in json.loads(dead["Body"])] == [more[0]["log_id"]]
    assert len(slack.payloads) == 5


def test_a_success_summary_when_asked(deliverer_env, stack, webhook, slack, monkeypatch):
    monkeypatch.setenv("SLACK_SEND_SUCCESS", "true")
    monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", f"{slack.url}/services/success-test")
    logs = LogFactory(seed=15).many(7)
    enqueue(stack, logs)

    source(stack).drain(lambda_handler)

    [payload] = slack.payloads
    fields = payload_fields(payload)
    assert fields == {"Logs delivered": "7", "Last log": logs[-1]["log_id"]}


def test_at_most_the_configured_requests_are_in_flight(deliverer_env, stack, webhook, monkeypatch):
    monkeypatch.setenv("WEBHOOK_CONCURRENT_CALLS", "3")
    webhook.failures.delay = 0.3
    logs = LogFactory(seed=16).many(10)
    enqueue(stack, logs, per_message=1)

    source(stack).drain(lambda_handler)

    assert webhook.delivered_ids == ids_of(logs)
    assert webhook.max_in_flight == 3


def test_connections_are_reused_across_requests_and_invocations(deliverer_env, stack, webhook, monkeypatch):
    monkeypatch.setenv("WEBHOOK_CONCURRENT_CALLS", "1")
    enqueue(stack, LogFactory(seed=18).many(12), per_message=2)

    source(stack, batch_size=2).drain(lambda_handler)  # three invocations of two records

    assert len(webhook.deliveries) == 6
    assert len({d.request.peer for d in webhook.deliveries}) == 1  # one keep-alive connection


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WEBHOOK_URL", "", "WEBHOOK_URL must be set"),
        ("WEBHOOK_URL", "ftp://example.com/x", "WEBHOOK_URL must be an https:// URL"),
        ("ALLOW_INSECURE_WEBHOOK", "false", "WEBHOOK_URL must be an https:// URL (http:// only with ALLOW_INSECURE"),
        ("WEBHOOK_SECRET", "not-a-secret", "WEBHOOK_SECRET must be a Standard Webhooks secret"),
        ("WEBHOOK_SECRET", "whsec_###", "WEBHOOK_SECRET must be a Standard Webhooks secret"),
        ("SEND_AS_BATCH", "yes please", "SEND_AS_BATCH must be true or false"),
        ("WEBHOOK_CONCURRENT_CALLS", "0", "WEBHOOK_CONCURRENT_CALLS must be a whole number from 1 to 50"),
        ("WEBHOOK_TIMEOUT", "soon", "WEBHOOK_TIMEOUT must be a number of seconds from 1 to 300"),
        ("MAX_RECEIVE_COUNT", "0", "MAX_RECEIVE_COUNT must be a whole number from 1 to 1000"),
        ("QUEUE_URL", "", "QUEUE_URL must be set"),
    ],
)
def test_a_wrong_deliverer_setting_fails_at_start(deliverer_env, stack, webhook, monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    enqueue(stack, LogFactory(seed=17).many(1))

    with pytest.raises(ConfigError) as raised:
        source(stack).poll_once(lambda_handler)

    assert str(raised.value).startswith(expected)
    assert "###" not in str(raised.value) and "not-a-secret" not in str(raised.value)
    assert webhook.deliveries == []
