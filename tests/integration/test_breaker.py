"""The route breaker against moto's DynamoDB, with an injected clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from auth0_webhooks.health.breaker import Admit, Breaker, BreakerEvent, BreakerStore, Thresholds
from auth0_webhooks.webhook import Outcome

from devkit.aws import Stack

OK = Outcome.of_status(200)
DOWN = Outcome.of_status(503, "Service Unavailable")
GONE = Outcome.of_status(410, "Gone")
PROBE_EVERY = timedelta(seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 10, 42, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker_on(stack: Stack, clock: Clock, thresholds: Thresholds | None = None) -> Breaker:
    store = BreakerStore(stack.client("dynamodb"), stack.table)
    return Breaker(store, thresholds or Thresholds(probe_every=PROBE_EVERY), clock)


def test_a_dead_receiver_pauses_the_route_then_one_probe_at_a_time_and_the_first_success_resumes(
    stack: Stack, clock: Clock
) -> None:
    breaker = breaker_on(stack, clock)
    events: list[BreakerEvent] = []
    for _ in range(9):
        assert breaker.admit("siem").action is Admit.DELIVER
        events += breaker.record("siem", DOWN)
        clock.tick(1)
    assert events == []  # nine failures in a row: still closed

    events += breaker.record("siem", DOWN)
    assert [e.kind for e in events] == ["paused"]
    assert events[0].last_status == 503
    assert breaker.admit("siem").action is Admit.HOLD  # no probe before the probe interval
    assert breaker.admit("other").action is Admit.DELIVER  # other routes go on

    clock.tick(PROBE_EVERY.total_seconds())
    assert breaker.admit("siem").action is Admit.PROBE
    assert breaker.admit("siem").action is Admit.HOLD  # one probe at a time
    assert breaker.record("siem", DOWN, probe=True) == ()
    assert breaker.admit("siem").action is Admit.HOLD  # the next probe waits a full interval

    clock.tick(PROBE_EVERY.total_seconds())
    assert breaker.admit("siem").action is Admit.PROBE
    resumed = breaker.record("siem", OK, probe=True)
    assert [e.kind for e in resumed] == ["resumed"]
    assert breaker.admit("siem").action is Admit.DELIVER
    assert breaker.state("siem").failures_in_a_row == 0


def test_a_410_pauses_at_once(stack: Stack, clock: Clock) -> None:
    breaker = breaker_on(stack, clock)

    events = breaker.record("siem", GONE)

    assert [(e.kind, e.last_status) for e in events] == [("paused", 410)]
    assert breaker.admit("siem").action is Admit.HOLD


def test_most_attempts_failing_in_the_window_pauses_without_ten_in_a_row(stack: Stack, clock: Clock) -> None:
    breaker = breaker_on(stack, clock)
    events: list[BreakerEvent] = []
    for i in range(30):  # fail, fail, ok: two thirds failing, never ten in a row
        events += breaker.record("siem", OK if i % 3 == 2 else DOWN)
        clock.tick(1)
        if events:
            break

    assert [e.kind for e in events] == ["paused"]
    assert breaker.state("siem").window_attempts >= 20


def test_a_lost_probe_lease_expires_and_another_caller_may_probe(stack: Stack, clock: Clock) -> None:
    breaker = breaker_on(stack, clock)
    breaker.record("siem", GONE)
    clock.tick(PROBE_EVERY.total_seconds())
    assert breaker.admit("siem").action is Admit.PROBE  # this caller dies without recording

    clock.tick(Thresholds().probe_lease.total_seconds())

    assert breaker.admit("siem").action is Admit.PROBE


def test_a_flapping_receiver_does_not_flip_the_breaker_faster_than_the_probe_interval(
    stack: Stack, clock: Clock
) -> None:
    breaker = breaker_on(stack, clock, Thresholds(failures_in_a_row=1, probe_every=PROBE_EVERY))
    answers = [OK, DOWN] * 300  # the receiver alternates, call by call
    transitions: list[tuple[str, datetime]] = []
    for _ in range(600):  # a caller every second for ten minutes
        decision = breaker.admit("siem")
        if decision.action is not Admit.HOLD:
            events = breaker.record("siem", answers.pop(), probe=decision.action is Admit.PROBE)
            transitions += [(e.kind, clock.now) for e in events]
        clock.tick(1)

    kinds = [kind for kind, _ in transitions]
    assert kinds.count("resumed") >= 4  # it did flap
    gaps = [b - a for (_, a), (k2, b) in itertools.pairwise(transitions) if k2 == "resumed"]
    assert min(gaps) >= PROBE_EVERY  # paused → resumed never sooner than a probe interval
    assert kinds.count("resumed") <= 600 // PROBE_EVERY.total_seconds()


def test_each_hour_still_paused_is_reported_once(stack: Stack, clock: Clock) -> None:
    breaker = breaker_on(stack, clock)
    breaker.record("siem", GONE)
    kinds = []
    for _ in range(150):  # 2.5 hours, a probe each minute, all failing
        clock.tick(60)
        decision = breaker.admit("siem")
        kinds += [e.kind for e in decision.events]
        if decision.action is Admit.PROBE:
            kinds += [e.kind for e in breaker.record("siem", DOWN, probe=True)]

    assert kinds == ["still_paused", "still_paused"]


def test_an_operator_pause_holds_without_probes_until_resumed(stack: Stack, clock: Clock) -> None:
    breaker = breaker_on(stack, clock)

    breaker.pause("siem")
    clock.tick(3600 * 3)
    assert breaker.admit("siem").action is Admit.HOLD

    breaker.resume("siem")
    assert breaker.admit("siem").action is Admit.DELIVER
