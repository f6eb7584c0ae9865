"""EventBridge destination on moto: each log arrives on the bus once; failures are retried, then returned."""

from __future__ import annotations

import json
import uuid
from typing import Any

from auth0_webhooks.routes.eventbridge import (
    DETAIL_TYPE,
    MAX_ENTRY_BYTES,
    SOURCE,
    Entry,
    NotPut,
    PutSchedule,
    build_entries,
    put_entries,
)

from devkit.aws import Stack

LOGS = [{"log_id": f"900{n:02d}", "type": "s", "client_id": "app-a"} for n in range(13)]
NO_WAIT = PutSchedule(attempts=3, delays=(1.0, 2.0), min_seconds_left=1.0)


def bus_to_queue(stack: Stack, bus: str) -> str:
    """A bus with a rule sending every auth0-webhooks event to a fresh queue; the queue's URL."""
    events, sqs = stack.client("events"), stack.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"bus-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name=bus)
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


def arrived(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(message["Body"]) for message in stack.drain(queue_url)]


class Sleeps:
    """The injected sleep: records each wait and may run an action (no wall-clock waiting)."""

    def __init__(self, action: Any = None) -> None:
        self.waits: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.action:
            self.action()


def test_each_log_arrives_on_the_bus_once_as_an_auth0_log_event(stack: Stack):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    queue_url = bus_to_queue(stack, bus)
    entries, too_large = build_entries(LOGS, bus)
    sleeps = Sleeps()
    assert put_entries(stack.client("events"), entries, lambda: 60.0, sleeps) == []
    events = arrived(stack, queue_url)
    assert sorted(event["detail"]["log_id"] for event in events) == [log["log_id"] for log in LOGS]
    assert {(event["source"], event["detail-type"]) for event in events} == {(SOURCE, DETAIL_TYPE)}
    assert events[0]["detail"] == next(log for log in LOGS if log["log_id"] == events[0]["detail"]["log_id"])
    assert (too_large, sleeps.waits) == ([], [])


def test_failed_puts_are_retried_and_arrive_once_when_the_bus_is_back(stack: Stack):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    queue: dict[str, str] = {}
    entries, _ = build_entries(LOGS[:3], bus)
    sleeps = Sleeps(lambda: queue.setdefault("url", bus_to_queue(stack, bus)))  # the bus appears while we wait
    assert put_entries(stack.client("events"), entries, lambda: 60.0, sleeps, NO_WAIT) == []
    assert sleeps.waits == [1.0]
    assert sorted(event["detail"]["log_id"] for event in arrived(stack, queue["url"])) == ["90000", "90001", "90002"]


def test_what_cannot_be_put_is_returned_with_its_reason_after_the_schedule(stack: Stack):
    entries, _ = build_entries(LOGS[:2], f"missing-{uuid.uuid4().hex[:8]}")
    sleeps = Sleeps()
    failed = put_entries(stack.client("events"), entries, lambda: 60.0, sleeps, NO_WAIT)
    assert failed == [NotPut("90000", "ResourceNotFoundException"), NotPut("90001", "ResourceNotFoundException")]
    assert sleeps.waits == [1.0, 2.0]


def test_a_partial_failure_retries_only_the_failed_entry(stack: Stack):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    queue_url = bus_to_queue(stack, bus)
    good, _ = build_entries(LOGS[:2], bus)
    bad = Entry("bad", {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": "not json", "EventBusName": bus}, 10)
    sleeps = Sleeps()
    failed = put_entries(stack.client("events"), [good[0], bad, good[1]], lambda: 60.0, sleeps, NO_WAIT)
    assert failed == [NotPut("bad", "MalformedDetail")]
    assert sleeps.waits == [1.0, 2.0]
    assert sorted(event["detail"]["log_id"] for event in arrived(stack, queue_url)) == ["90000", "90001"]  # once each


def test_nothing_is_put_past_the_deadline(stack: Stack):
    bus = f"auth0-{uuid.uuid4().hex[:8]}"
    queue_url = bus_to_queue(stack, bus)
    entries, _ = build_entries(LOGS[:2], bus)
    sleeps = Sleeps()
    failed = put_entries(stack.client("events"), entries, lambda: 0.5, sleeps, NO_WAIT)
    assert failed == [NotPut("90000", "deadline"), NotPut("90001", "deadline")]
    assert (sleeps.waits, arrived(stack, queue_url)) == ([], [])


def test_a_log_over_the_entry_limit_is_returned_not_put():
    huge = {"log_id": "900big", "type": "s", "details": {"blob": "x" * MAX_ENTRY_BYTES}}
    entries, too_large = build_entries([LOGS[0], huge], "bus")
    assert [entry.log_id for entry in entries] == ["90000"]
    assert [item.log_id for item in too_large] == ["900big"]
    assert too_large[0].reason.startswith("entry of 262") and "over EventBridge's 262144" in too_large[0].reason


def test_a_log_with_text_utf8_cannot_carry_is_put_escaped_not_crashed():
    odd = json.loads('{"log_id": "900odd", "type": "s", "description": "\\ud800 é"}')  # a lone surrogate

    entries, too_large = build_entries([odd], "bus")

    assert too_large == []
    escaped = '{"log_id":"900odd","type":"s","description":"\\ud800 \\u00e9"}'
    assert [entry.entry["Detail"] for entry in entries] == [escaped]
