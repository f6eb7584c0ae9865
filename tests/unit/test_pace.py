"""max_per_second's pace, on an injected clock (no waiting)."""

from __future__ import annotations

from auth0_webhooks.pace import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_are_spaced_one_interval_apart():
    clock = Clock()
    pace = Pace(per_second=4.0, clock=clock)
    assert [pace.reserve(within=60.0) for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_a_slot_too_late_is_refused_and_not_kept():
    clock = Clock()
    pace = Pace(per_second=1.0, clock=clock)
    assert pace.reserve(within=5.0) == 0.0
    assert pace.reserve(within=0.5) is None  # its slot is 1 s away
    assert pace.reserve(within=5.0) == 1.0  # the refused one did not push this one back


def test_time_passing_frees_slots():
    clock = Clock()
    pace = Pace(per_second=2.0, clock=clock)
    pace.reserve(within=1.0)
    clock.now += 10
    assert pace.reserve(within=0.0) == 0.0
