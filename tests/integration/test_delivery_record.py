"""Each route's delivery record on moto's DynamoDB: counts add up, failures stay bounded."""

from __future__ import annotations

from auth0_webhooks.health.breaker import Breaker, BreakerStore
from auth0_webhooks.health.record import MAX_FAILURES, DeliveryLog, RecordStore
from auth0_webhooks.webhook import Outcome

from devkit.aws import Stack


def test_flushes_add_counts_and_keep_only_the_last_50_failures_newest_first(stack: Stack) -> None:
    store = RecordStore(stack.client("dynamodb"), stack.table)
    for run in range(3):  # three invocations, each with 30 failures
        log = DeliveryLog(retried=30)
        for n in range(30):
            log.failed(f"2026-01-01T10:{run:02d}:{n:02d}Z", 503, "busy " * 200, "HTTP 503 Service Unavailable")
        log.succeeded(f"2026-01-01T10:{run:02d}:59Z", f"log-{run}", 120 + run, logs=4)
        store.flush("siem", log)

    record = store.load("siem")

    assert (record.delivered, record.retried, record.dead_lettered) == (12, 90, 0)
    assert len(record.failures) == MAX_FAILURES
    assert record.failures[0].at == "2026-01-01T10:02:29Z"
    assert all(len(f.answer.encode()) <= 500 for f in record.failures)
    assert record.last_success is not None
    assert (record.last_success.newest_log_id, record.last_success.latency_ms) == ("log-2", 122)


def test_the_record_never_touches_the_breaker_on_the_same_item(stack: Stack) -> None:
    client = stack.client("dynamodb")
    breaker = Breaker(BreakerStore(client, stack.table))
    breaker.record("siem", Outcome.of_status(410, "Gone"))

    RecordStore(client, stack.table).flush("siem", DeliveryLog(dead_lettered=3))

    assert breaker.state("siem").state == "open"
    assert RecordStore(client, stack.table).load("siem").dead_lettered == 3


def test_secrets_in_an_answer_are_cut_to_the_host(stack: Stack) -> None:
    store = RecordStore(stack.client("dynamodb"), stack.table)
    log = DeliveryLog()
    log.failed("2026-01-01T10:00:00Z", 400, "see https://hooks.example.com/path?token=abc", "HTTP 400")
    store.flush("siem", log)

    assert "token=abc" not in store.load("siem").failures[0].answer
