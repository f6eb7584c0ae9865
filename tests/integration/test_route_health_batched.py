"""One invocation's route health asks DynamoDB once per route and tells it once, but pauses at once.

The breaker's store is moto's DynamoDB behind a wrapper that counts the requests; the clock is injected.
Each :class:`RouteHealth` is one deliverer invocation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth0_webhooks.budget import SecondsLeft, unlimited
from auth0_webhooks.health.breaker import Admit, Breaker, BreakerState, BreakerStore, Thresholds
from auth0_webhooks.health.route_health import RouteHealth
from auth0_webhooks.webhook import Outcome

from devkit.aws import Stack

OK = Outcome.of_status(200)
DOWN = Outcome.of_status(503, "Service Unavailable")
GONE = Outcome.of_status(410, "Gone")
HOOK = "https://hooks.example.com/…"
START = datetime(2026, 1, 1, 10, 42, tzinfo=UTC)


class CountingStore(BreakerStore):
    """The real store, counting its reads and writes (and the writes that met another's)."""

    def __init__(self, client: Any, table: str) -> None:
        super().__init__(client, table)
        self.loads = self.saves = self.conflicts = 0

    def load(self, route: str, seconds_left: SecondsLeft = unlimited) -> BreakerState:
        self.loads += 1
        return super().load(route, seconds_left)

    def save(self, route: str, old: BreakerState, new: BreakerState, seconds_left: SecondsLeft = unlimited) -> bool:
        self.saves += 1
        saved = super().save(route, old, new, seconds_left)
        self.conflicts += 0 if saved else 1
        return saved


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(stack: Stack) -> CountingStore:
    return CountingStore(stack.client("dynamodb"), stack.table)


def invocation(store: CountingStore, clock: Clock, thresholds: Thresholds | None = None) -> RouteHealth:
    return RouteHealth(Breaker(store, thresholds or Thresholds(), clock), None, clock)


def test_ten_records_on_a_closed_route_read_the_breaker_once_and_write_it_once(store, stack):
    clock = Clock()
    health = invocation(store, clock)
    for _ in range(10):
        assert health.admit("siem").action is Admit.DELIVER
        assert health.sent("siem", HOOK, [OK], probe=False).events == ()
    assert (store.loads, store.saves) == (1, 0)  # before the end: one read, no write

    assert health.flush(lambda: 60.0) == ()

    assert (store.loads, store.saves) == (2, 1)  # the end: one conditional update
    state = store.load("siem")
    assert (state.window_attempts, state.window_failures, state.paused) == (10, 0, False)


def test_two_records_answered_410_pause_the_route_once_with_one_write_and_the_second_is_held(store):
    clock = Clock()
    health = invocation(store, clock)
    first, second = health.admit("gone"), health.admit("gone")  # both admitted before either was answered
    assert (first.action, second.action) == (Admit.DELIVER, Admit.DELIVER)

    one = health.sent("gone", HOOK, [GONE], probe=False)
    other = health.sent("gone", HOOK, [GONE], probe=False)

    assert [e.kind for e in one.events] == ["paused"] and one.paused
    assert other.events == () and other.paused  # no second "paused" to announce; its logs are held
    assert store.saves == 1 and store.conflicts == 0
    assert health.admit("gone").action is Admit.HOLD  # the invocation's next records wait
    assert store.saves == 1 and store.loads == 2  # the admits' one read, the pause's read before its write
    assert health.flush(lambda: 60.0) == ()  # the second 410 is counted at the end
    assert store.load("gone").failures_in_a_row == 2


def test_a_failure_that_adds_up_to_the_threshold_pauses_at_once_and_holds_the_rest(store):
    clock = Clock()
    thresholds = Thresholds(failures_in_a_row=3)
    earlier = invocation(store, clock, thresholds)
    earlier.admit("siem")
    for _ in range(2):
        assert not earlier.sent("siem", HOOK, [DOWN], probe=False).paused
    assert store.saves == 0
    earlier.flush(lambda: 60.0)
    assert store.load("siem").failures_in_a_row == 2

    health = invocation(store, clock, thresholds)
    assert health.admit("siem").action is Admit.DELIVER
    saves = store.saves
    third = health.sent("siem", HOOK, [DOWN], probe=False)

    assert [e.kind for e in third.events] == ["paused"] and third.paused
    assert store.saves == saves + 1  # written at once, not at the end
    assert health.admit("siem").action is Admit.HOLD


def test_counts_of_two_invocations_that_add_up_pause_the_route_when_the_second_writes_them(store):
    clock = Clock()
    thresholds = Thresholds(failures_in_a_row=3)
    one, two = invocation(store, clock, thresholds), invocation(store, clock, thresholds)
    one.admit("siem"), two.admit("siem")  # both read it closed, with no failures
    for health in (one, two):
        for _ in range(2):
            assert not health.sent("siem", HOOK, [DOWN], probe=False).paused

    assert one.flush(lambda: 60.0) == ()
    [paused] = two.flush(lambda: 60.0)  # 2 + 2 failures in a row: the deliverer announces it

    assert paused.kind == "paused" and paused.route == "siem"
    assert store.load("siem").paused and two.paused == {"siem"}


def test_a_route_paused_by_another_invocation_is_seen_at_the_next_invocation(store):
    clock = Clock()
    health = invocation(store, clock)
    assert health.admit("siem").action is Admit.DELIVER
    other = invocation(store, clock)
    other.admit("siem")
    other.sent("siem", HOOK, [GONE], probe=False)  # another invocation pauses it meanwhile

    assert health.admit("siem").action is Admit.DELIVER  # the trade-off: this batch may still be sent
    assert invocation(store, clock).admit("siem").action is Admit.HOLD  # the next invocation holds


def test_a_probe_takes_the_lease_once_and_its_success_resumes_the_route_for_the_invocation(store):
    clock = Clock()
    thresholds = Thresholds(probe_every=timedelta(seconds=60))
    pausing = invocation(store, clock, thresholds)
    pausing.admit("siem")
    pausing.sent("siem", HOOK, [GONE], probe=False)
    clock.now += timedelta(seconds=61)

    health = invocation(store, clock, thresholds)
    assert health.admit("siem").action is Admit.PROBE
    assert health.admit("siem").action is Admit.HOLD  # one probe at a time, known without a request
    loads = store.loads
    resumed = health.sent("siem", HOOK, [OK], probe=True)

    assert [e.kind for e in resumed.events] == ["resumed"] and not resumed.paused
    assert store.loads == loads + 1  # the probe's outcome is written at once, conditionally
    assert health.admit("siem").action is Admit.DELIVER and store.loads == loads + 1
    assert "siem" not in health.paused
