"""The deliverer with a routes file: every format as a receiver reads it, route isolation, EventBridge
on moto, unknown routes; against moto's SQS, Secrets Manager and EventBridge and local receivers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from auth0_webhooks.dead_letters import ROUTE
from auth0_webhooks.errors import RoutesError
from auth0_webhooks.health.record import RecordStore
from auth0_webhooks.queue import LogQueue, batch_messages
from auth0_webhooks.routes import formats
from auth0_webhooks.signing import batch_id

from devkit.aws import Stack
from devkit.logs import LogFactory
from devkit.receivers import WebhookReceiver, payload_fields
from functions.deliverer.app import lambda_handler
from tests.conftest import SIGNING_SECRET, set_environ
from tests.integration.deliverer_helpers import dead_letters, source
from tests.integration.test_routes_eventbridge import arrived, bus_to_queue

STACK = "routes-test"
TOKEN = "Bearer route-t0ken-value"


@pytest.fixture
def secrets(stack: Stack, cold_powertools: None) -> dict[str, str]:
    """A signing secret and an authorization value in Secrets Manager, under the stack's prefix: their names."""
    client, suffix = stack.client("secretsmanager"), uuid.uuid4().hex[:8]
    names = {"signing": f"{STACK}/signing-{suffix}", "authorization": f"{STACK}/authorization-{suffix}"}
    client.create_secret(Name=names["signing"], SecretString=SIGNING_SECRET)
    client.create_secret(Name=names["authorization"], SecretString=TOKEN)
    return names


@pytest.fixture
def routes_env(stack, slack, tmp_path, monkeypatch):
    """The deliverer's settings with a routes file (written by each test) and no WEBHOOK_* at all."""
    values = {
        "ROUTES_FILE": str(tmp_path / "routes.yaml"),
        "STACK_NAME": STACK,
        "SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/T000/B000/slack-secret-part",
        "MAX_RECEIVE_COUNT": "2",
        **stack.environ(),
    }
    unset = ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION", "SEND_AS_BATCH", "RETRY_BASE_SECONDS")
    return set_environ(monkeypatch, values, unset)


def write_routes(env: dict[str, str], *routes: dict[str, Any]) -> None:
    Path(env["ROUTES_FILE"]).write_text(yaml.safe_dump({"version": 1, "routes": list(routes)}))


def hook(receiver: WebhookReceiver, secrets: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    destination = {"type": "webhook", "url": f"{receiver.url}/in", "allow_insecure": True, **fields}
    if secrets:
        destination |= {"signing_secret": secrets["signing"], "authorization_secret": secrets["authorization"]}
    return destination


def enqueue_route(stack: Stack, route: str | None, logs: list[dict], per_message: int = 10) -> None:
    """Logs queued as the poller queues a route's logs: messages of their own with a ``route`` attribute."""
    messages = batch_messages(logs, per_message)
    if route is not None:
        messages = [replace(m, attributes={**m.attributes, ROUTE: route}) for m in messages]
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(messages)


def run_until_settled(stack: Stack, rounds: int = 20) -> None:
    """Invoke, and let time pass for the records handed back, until nothing is left to retry."""
    events = source(stack)
    for _ in range(rounds):
        handed, _ = events.poll_once(lambda_handler)
        events.release_failed()
        if handed == 0:
            return
    raise AssertionError("records still coming back")


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver, WebhookReceiver]]:
    with (
        WebhookReceiver(secret=SIGNING_SECRET, authorization=TOKEN) as first,
        WebhookReceiver() as second,
        WebhookReceiver() as third,
    ):
        yield first, second, third


FORMATS = [
    ("array", "none", "array"),
    ("object", "none", "object"),
    ("jsonlines", "none", "jsonlines"),
    ("logstream-array", "none", "logstream-array"),
    ("logstream-jsonlines", "none", "logstream-jsonlines"),
    ("logstream-object", "none", "logstream-object"),
    ("logstream", "gzip", "logstream-array"),
    ("jsonlines", "gzip", "jsonlines"),
    ("object", "gzip", "object"),
]


@pytest.mark.parametrize(("fmt", "compression", "shape"), FORMATS)
def test_every_format_reaches_the_receiver_as_it_expects(
    routes_env, stack, secrets, receivers, fmt, compression, shape
):
    receiver = receivers[0]
    destination = hook(receiver, secrets, format=fmt, compression=compression, batch_size=4)
    destination["headers"] = {"X-Source": "auth0-webhooks"}
    write_routes(routes_env, {"id": "siem", "destination": destination})
    logs = LogFactory(seed=60).many(10)
    enqueue_route(stack, "siem", logs)

    run_until_settled(stack)

    one_each = shape.endswith("object")
    assert len(receiver.deliveries) == (10 if one_each else 3)  # batch_size 4: 4, 4, 2
    received = [log for d in receiver.deliveries for log in d.logs]
    assert sorted(received, key=lambda log: log["log_id"]) == logs  # every field, as queued
    for delivery in receiver.deliveries:
        headers = delivery.request.headers
        assert (delivery.status, delivery.shape, delivery.verified) == (200, shape, True)
        assert [log["log_id"] for log in delivery.logs] == sorted(log["log_id"] for log in delivery.logs)
        assert headers["x-source"] == "auth0-webhooks"
        assert headers.get("content-encoding") == ("gzip" if compression == "gzip" else None)
        assert headers["content-type"] == ("application/x-ndjson" if "jsonlines" in shape else "application/json")
        body = formats.Body(b"", {}, tuple(delivery.log_ids))
        assert headers["webhook-id"] == formats.webhook_id("siem", body, shape)
        assert headers["webhook-id"].startswith("siem_")
    assert dead_letters(stack) == []


def test_a_failing_route_never_holds_up_or_resends_another(routes_env, stack, secrets, receivers, slack):
    healthy, unavailable, gone = receivers
    unavailable.failures.next, unavailable.failures.status = 10_000, 503  # forever
    gone.failures.next, gone.failures.status = 10_000, 410
    write_routes(
        routes_env,
        {"id": "healthy", "destination": hook(healthy, secrets, batch_size=5)},
        {"id": "down", "destination": hook(unavailable, format="jsonlines")},
        {"id": "gone", "destination": hook(gone, format="object")},
    )
    logs = LogFactory(seed=61).many(30)
    mine = {"healthy": logs[0::3], "down": logs[1::3], "gone": logs[2::3]}
    for start in range(0, 10, 5):  # interleaved on the queue, as the poller fans each page out
        for route, route_logs in mine.items():
            enqueue_route(stack, route, route_logs[start : start + 5], per_message=5)

    run_until_settled(stack)

    ids = {route: sorted(log["log_id"] for log in route_logs) for route, route_logs in mine.items()}
    assert healthy.delivered_ids == ids["healthy"]  # exactly its logs, once each
    assert len(healthy.deliveries) == 2  # never re-sent while the other routes retried
    for delivery in healthy.deliveries:
        assert delivery.log_ids == sorted(delivery.log_ids)  # in order within each request
    assert len(unavailable.deliveries) == 2 * 2  # two messages, MAX_RECEIVE_COUNT attempts each
    assert 1 <= len(gone.deliveries) <= 10  # one POST per log until the first 410 paused the route
    by_route: dict[str, list[str]] = {}
    for message in dead_letters(stack):
        attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
        by_route.setdefault(attributes[ROUTE], []).extend(e["log_id"] for e in json.loads(message["Body"]))
        assert attributes["reason"].startswith("gave up after 2 attempts: HTTP 503")
    assert {route: sorted(found) for route, found in by_route.items()} == {"down": ids["down"]}
    gone_record = RecordStore(stack.client("dynamodb"), stack.table).load("gone")
    assert (gone_record.held, gone_record.dead_lettered) == (10, 0)  # paused at the first 410: they wait
    alerts = [payload_fields(p) for p in slack.payloads]
    assert {fields["Route"] for fields in alerts} == {"down", "gone"}
    assert [t for t in slack.titles() if t.startswith("Route gone")] == [
        next(t for t in slack.titles() if t.startswith("Route gone paused since"))
    ]


def test_an_unknown_route_is_dead_lettered_with_the_reason_never_dropped(routes_env, stack, receivers):
    write_routes(routes_env, {"id": "siem", "destination": hook(receivers[1])})
    logs = LogFactory(seed=62).many(4)
    enqueue_route(stack, "retired", logs[:2])
    enqueue_route(stack, "siem", logs[2:])

    run_until_settled(stack)

    assert receivers[1].delivered_ids == [log["log_id"] for log in logs[2:]]
    [dead] = dead_letters(stack)
    assert [e["log_id"] for e in json.loads(dead["Body"])] == [log["log_id"] for log in logs[:2]]
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert (attributes["reason"], attributes[ROUTE]) == ("unknown route retired", "retired")


def test_a_message_without_a_route_goes_to_the_default_route(routes_env, stack, receivers):
    default = {"id": "default", "destination": hook(receivers[1])}
    write_routes(routes_env, default, {"id": "x", "destination": hook(receivers[2])})
    logs = LogFactory(seed=63).many(3)
    enqueue_route(stack, None, logs)

    run_until_settled(stack)

    assert receivers[1].delivered_ids == [log["log_id"] for log in logs] and receivers[2].deliveries == []
    assert receivers[1].deliveries[0].request.headers["webhook-id"] == batch_id([log["log_id"] for log in logs])


def test_each_log_arrives_on_the_bus_once(routes_env, stack, receivers):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    queue_url = bus_to_queue(stack, bus)
    write_routes(
        routes_env,
        {"id": "events", "destination": {"type": "eventbridge", "bus": bus}},
        {"id": "siem", "destination": hook(receivers[1])},
    )
    logs = LogFactory(seed=64).many(25)
    huge = {**LogFactory(seed=65).many(1)[0], "details": {"blob": "x" * 300_000}}
    enqueue_route(stack, "events", logs)
    enqueue_route(stack, "events", [huge])
    enqueue_route(stack, "siem", logs[:3])

    run_until_settled(stack)

    events = arrived(stack, queue_url)
    assert sorted(event["detail"]["log_id"] for event in events) == [log["log_id"] for log in logs]  # once each
    assert {(event["source"], event["detail-type"]) for event in events} == {("auth0-webhooks", "Auth0 log")}
    assert receivers[1].delivered_ids == [log["log_id"] for log in logs[:3]]
    [dead] = dead_letters(stack)
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert json.loads(dead["Body"])[0]["log_id"] == huge["log_id"] and attributes[ROUTE] == "events"
    assert "over EventBridge's 262144" in attributes["reason"]


def test_puts_the_bus_refused_are_retried_and_arrive_once(routes_env, stack):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    write_routes(routes_env, {"id": "events", "destination": {"type": "eventbridge", "bus": bus}})
    logs = LogFactory(seed=66).many(3)
    enqueue_route(stack, "events", logs)
    events = source(stack)

    assert events.poll_once(lambda_handler) == (1, 1)  # no bus yet: every PutEvents refused, retried later
    queue_url = bus_to_queue(stack, bus)
    events.release_failed()
    events.drain(lambda_handler)

    assert sorted(e["detail"]["log_id"] for e in arrived(stack, queue_url)) == [log["log_id"] for log in logs]
    assert dead_letters(stack) == []


def test_a_bad_routes_file_fails_at_cold_start_naming_the_route_and_field(routes_env, stack, receivers):
    write_routes(routes_env, {"id": "siem", "destination": {"type": "webhook", "url": "http://x.example", "colour": 1}})
    enqueue_route(stack, "siem", LogFactory(seed=67).many(1))

    with pytest.raises(RoutesError) as raised:
        source(stack).poll_once(lambda_handler)

    assert "route siem: destination.colour: unknown field" in str(raised.value)


def test_a_secret_outside_the_stack_prefix_is_refused(routes_env, stack, receivers):
    destination = hook(receivers[1], signing_secret="someone-else/signing")
    write_routes(routes_env, {"id": "siem", "destination": destination})
    enqueue_route(stack, "siem", LogFactory(seed=68).many(1))

    with pytest.raises(RoutesError) as raised:
        source(stack).poll_once(lambda_handler)

    assert f"route siem: destination.signing_secret: must name a secret under this stack's prefix ({STACK}/" in str(
        raised.value
    )
    assert receivers[1].deliveries == []


def test_a_slow_route_cannot_take_every_slot(routes_env, stack, receivers):
    slow, fast = receivers[1], receivers[2]
    slow.failures.delay = 0.3
    write_routes(
        routes_env,
        {"id": "slow", "destination": hook(slow, format="object", concurrency=2)},
        {"id": "fast", "destination": hook(fast, format="object", concurrency=3)},
    )
    logs = LogFactory(seed=69).many(12)
    enqueue_route(stack, "slow", logs[:6])
    enqueue_route(stack, "fast", logs[6:])

    run_until_settled(stack)

    assert slow.max_in_flight == 2 and fast.max_in_flight <= 3
    assert slow.delivered_ids == [log["log_id"] for log in logs[:6]]
    assert fast.delivered_ids == [log["log_id"] for log in logs[6:]]


def test_max_per_second_holds_back_what_its_pace_cannot_send_in_time(routes_env, stack, receivers):
    receiver = receivers[1]
    write_routes(routes_env, {"id": "slow", "destination": hook(receiver, format="object", max_per_second=0.01)})
    logs = LogFactory(seed=71).many(3)
    enqueue_route(stack, "slow", logs)

    assert source(stack).poll_once(lambda_handler) == (1, 0)

    assert len(receiver.deliveries) == 1  # the next slot is 100 s away: past this invocation
    [again] = stack.drain()
    attributes = {name: value["StringValue"] for name, value in again["MessageAttributes"].items()}
    assert (attributes[ROUTE], attributes["attempts"]) == ("slow", "0")  # not counted as an attempt
    sent = receiver.deliveries[0].log_ids
    assert sorted(sent + [e["log_id"] for e in json.loads(again["Body"])]) == [log["log_id"] for log in logs]
    assert dead_letters(stack) == []


def test_a_rotated_signing_secret_is_used_without_a_redeploy(routes_env, stack, secrets, receivers):
    from aws_lambda_powertools.utilities.parameters import clear_caches

    receiver = receivers[0]
    write_routes(routes_env, {"id": "siem", "destination": hook(receiver, secrets)})
    enqueue_route(stack, "siem", LogFactory(seed=72).many(2))
    run_until_settled(stack)
    rotated = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    stack.client("secretsmanager").put_secret_value(SecretId=secrets["signing"], SecretString=rotated)
    clear_caches()  # type: ignore[no-untyped-call]  # five minutes pass: Powertools reads the secret again
    receiver.secret = rotated
    enqueue_route(stack, "siem", LogFactory(seed=73).many(2))

    run_until_settled(stack)

    assert [d.verified for d in receiver.deliveries] == [True, True]
    assert dead_letters(stack) == []
