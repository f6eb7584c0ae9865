"""The drain bench runs both readers against a tenant with the given limits and reports each (not its speed)."""

from __future__ import annotations

from devkit.drain_bench import Limits, lines, measure


def test_the_drain_bench_measures_both_readers_against_the_ceiling():
    limits = Limits("tiny", rate=20, burst=10, round_trip=0.01)

    sequential, sliced = measure(limits, seconds=4.0)  # the sliced reader first waits ~2 s for the empty bucket

    assert (sequential.reader, sliced.reader.split(",")[0]) == ("sequential", "sliced")
    for drain in (sequential, sliced):
        assert drain.logs > 0 and drain.requests > 0 and drain.ceiling == 2000
        assert drain.share == drain.logs / drain.seconds / 2000
    text = "\n".join(lines(limits, (sequential, sliced)))
    assert "ceiling 2,000 logs/s" in text and "of the ceiling" in text
