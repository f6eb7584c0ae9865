"""The route breaker and the delivery record start no DynamoDB call without the time to finish it.

The invocation's time is injected and moves with what happened (a POST answered, a call made),
never with the wall clock. Each test names the log ids that went where, and reads the breaker
item and the queues back from moto.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from auth0_webhooks import clients
from auth0_webhooks.budget import OutOfTime
from auth0_webhooks.deliverer import RESERVE_SECONDS, SLACK_FLUSH_RESERVE_SECONDS, Deliverer, build_deliverer
from auth0_webhooks.health.breaker import CALL_SECONDS, BreakerStore
from auth0_webhooks.health.record import DeliveryLog, RecordStore
from auth0_webhooks.metrics import PUBLISHED, SHORTFALLS
from auth0_webhooks.settings import DelivererSettings

from devkit.aws import Stack
from devkit.logs import LogFactory
from devkit.receivers import WebhookReceiver
from tests.conftest import AUTHORIZATION, SIGNING_SECRET, ids_of, set_environ
from tests.integration.deliverer_helpers import dead_letters, enqueue, source

TOO_LITTLE = RESERVE_SECONDS + CALL_SECONDS - 1.0  # enough for a POST, too little for a breaker call after it


@pytest.fixture
def env(stack: Stack, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "WEBHOOK_URL": f"{webhook.url}/auth0",
        "ALLOW_INSECURE_WEBHOOK": "true",
        "WEBHOOK_AUTHORIZATION": AUTHORIZATION,
        "WEBHOOK_SECRET": SIGNING_SECRET,
        "WEBHOOK_TIMEOUT": "2",
        "MAX_RECEIVE_COUNT": "5",
        "BREAKER_PROBE_SECONDS": "0",  # a held message is visible again at once
        **stack.environ(),  # CHECKPOINT_TABLE: the breaker and the record are on
    }
    unset = ("SEND_AS_BATCH", "ROUTES_FILE", "WEBHOOK_SECRET_ARN", "WEBHOOK_AUTHORIZATION_ARN")
    return set_environ(monkeypatch, values, unset)


def invoke(stack: Stack, time_left: Callable[[], float]) -> tuple[Deliverer, tuple[int, int]]:
    """One invocation of the handler's two lines, with the time left injected."""
    built: list[Deliverer] = []

    def handle(event: dict[str, Any], _: Any) -> dict[str, Any]:
        built.append(build_deliverer(DelivererSettings.from_env()))
        return built[0].process(event, time_left)

    counts = source(stack).poll_once(handle)
    return built[0], counts


def breaker_item(stack: Stack) -> dict[str, Any]:
    item: dict[str, Any] = (
        stack.client("dynamodb").get_item(TableName=stack.table, Key={"pk": {"S": "route#default"}}).get("Item", {})
    )
    return item


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_breaker_there_is_no_time_to_ask_holds_the_record_without_an_attempt(env, stack, webhook, caplog):
    logs = LogFactory(seed=501).many(3)
    enqueue(stack, logs)
    readings = iter([60.0])  # the start has plenty; from then on, too little for a breaker call

    with caplog.at_level(logging.WARNING):
        deliverer, counts = invoke(stack, lambda: next(readings, TOO_LITTLE))

    assert counts == (1, 0) and webhook.deliveries == []  # held: reported done, nothing posted
    [held] = stack.drain()
    assert [e["log_id"] for e in json.loads(held["Body"])] == ids_of(logs)
    assert held["MessageAttributes"]["attempts"]["StringValue"] == "0"  # this receive was no attempt
    assert dead_letters(stack) == []
    assert "route breaker not asked: no time left; the record waits" in warnings(caplog)
    metrics = deliverer.stats.metrics()
    assert metrics[SHORTFALLS] == 1 and SHORTFALLS in PUBLISHED
    assert "RoutesPaused" not in metrics  # the route is not paused: no route-paused alarm
    item = breaker_item(stack)
    assert "breaker_version" not in item  # the breaker was never written
    assert item["record_held"] == {"N": "3"}  # the record (written after the SQS calls, with the time for it)


def test_an_outcome_there_is_no_time_to_tell_is_reported_and_its_logs_come_back(env, stack, webhook, caplog):
    logs = LogFactory(seed=502).many(2)
    enqueue(stack, logs)
    webhook.failures.next, webhook.failures.status = 1, 503

    def time_left() -> float:  # plenty until the webhook has answered, then too little for the end's writes
        return SLACK_FLUSH_RESERVE_SECONDS + CALL_SECONDS - 1.0 if webhook.deliveries else 60.0

    with caplog.at_level(logging.WARNING):
        deliverer, counts = invoke(stack, time_left)

    assert counts == (1, 1)  # handed back to SQS for a retry: nothing lost
    assert [d.status for d in webhook.deliveries] == [503]
    assert "route breaker not told: no time left; an outcome was not counted" in warnings(caplog)
    assert "delivery record not written: no time left" in warnings(caplog)
    assert deliverer.stats.metrics()[SHORTFALLS] == 2  # the breaker's count and the record, each reported
    assert "breaker_failures_in_a_row" not in breaker_item(stack)  # the 503 was not counted, and not silently
    assert dead_letters(stack) == []


def test_with_time_the_same_outcome_is_counted_and_nothing_falls_short(env, stack, webhook, caplog):
    logs = LogFactory(seed=503).many(2)
    enqueue(stack, logs)
    webhook.failures.next, webhook.failures.status = 1, 503

    deliverer, counts = invoke(stack, lambda: 60.0)

    assert counts == (1, 1)
    assert breaker_item(stack)["breaker_failures_in_a_row"] == {"N": "1"}
    assert SHORTFALLS not in deliverer.stats.metrics()


def test_a_record_flush_stops_between_its_read_and_its_write_when_time_runs_out(stack):
    store = RecordStore(clients.dynamodb_within_deadline(), stack.table)
    log = DeliveryLog(delivered=4)
    readings = iter([60.0])  # time for the read, not for the write

    with pytest.raises(OutOfTime, match="route default: writing its delivery record"):
        store.flush("default", log, lambda: next(readings, CALL_SECONDS - 0.5))

    assert store.load("default").delivered == 0
    store.flush("default", log, lambda: 60.0)
    assert store.load("default").delivered == 4


def test_the_breaker_and_record_client_ends_each_call_within_the_margin(env):
    config: Any = clients.dynamodb_within_deadline().meta.config  # botocore's Config is untyped
    attempts = config.retries["total_max_attempts"]
    assert attempts == 1  # a conditional write retried after a timeout could count a breaker change twice
    assert config.connect_timeout + config.read_timeout <= CALL_SECONDS == clients.DEADLINE_CALL_SECONDS

    deliverer = build_deliverer(DelivererSettings.from_env())
    assert deliverer.health.breaker is not None and deliverer.health.records is not None
    for store in (deliverer.health.breaker.store, deliverer.health.records):
        used: Any = store.client.meta.config
        assert (used.read_timeout, used.retries["total_max_attempts"]) == (config.read_timeout, attempts)


def test_a_breaker_store_call_never_starts_without_the_margin(stack):
    store = BreakerStore(clients.dynamodb_within_deadline(), stack.table)

    with pytest.raises(OutOfTime, match="route siem: reading its breaker"):
        store.load("siem", lambda: CALL_SECONDS - 0.1)
    assert store.load("siem", lambda: CALL_SECONDS).state == "closed"
