"""Figures 1b and 1c: reading a backlog at a plan's limits, in time slices beside today's sequential reader.

Each plan's tenant starts with an empty bucket and 250 ms round trips (``devkit.drain_bench``); both
readers read for the same time in the same run, and the figure is logs a second as a share of the
ceiling (the plan's refill rate x 100 logs a request) in the steady state: from each reader's first page
to its end, with the 429s of that stretch. The start-up before the first page (the token, the empty
bucket refilling to the reserve: a second or two, once a run) is left out of the figure and given in its
note with the whole run's share. Only the reading side: nothing is queued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..drain_bench import ENTERPRISE, ESSENTIALS, Limits, measure
from .config import Figure

if TYPE_CHECKING:
    from .runner import Bench

FULL_SECONDS = 20.0  # each reader reads this long at --scale 1
TARGETS = {ENTERPRISE.name: 0.9, ESSENTIALS.name: 0.95}  # share of the ceiling the sliced reader must reach
MAX_429_SHARE = 0.01


def parallel_drain(bench: Bench) -> None:
    seconds = max(3.0, FULL_SECONDS * bench.scale.factor)
    for label, limits in (("1b", ENTERPRISE), ("1c", ESSENTIALS)):
        bench.figures.append(figure(label, limits, seconds))


def figure(label: str, limits: Limits, seconds: float) -> Figure:
    sequential, sliced = measure(limits, seconds)
    target = TARGETS[limits.name]
    return Figure(
        f"{label}. backlog read in slices, {limits.name} ({limits.rate:g}/s, burst {limits.burst}, 250 ms)",
        sliced.steady_rate,
        sequential.steady_rate,
        "logs/s",
        f"≥ {target:g} of ceiling, < 1% 429",
        sliced.steady_share >= target and sliced.steady_share_429 < MAX_429_SHARE,
        f"steady state, from the first page on: {sliced.steady_share:.2f} of the ceiling ({limits.ceiling:,.0f}"
        f" logs/s) with {sliced.reader}, {sliced.steady_requests} requests, {sliced.steady_429} answered 429;"
        f" the start-up before its first page took {sliced.start_up:.1f}s (whole run of {sliced.seconds:.0f}s:"
        f" {sliced.share:.2f} of the ceiling, {sliced.requests} requests, {sliced.answered_429} answered 429);"
        f" the sequential reader (the baseline) {sequential.steady_share:.2f} ({sequential.share:.2f} whole run)",
        sliced.steady_share,
    )
