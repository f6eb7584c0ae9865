"""What the devkit prints: the demo's plain mode is stable, the bench's exit status follows its targets."""

from __future__ import annotations

import doctest
import importlib

import pytest

from devkit.bench.config import Figure
from devkit.bench.report import exit_status
from devkit.demo.live import TOTALS, Snapshot, plain_line

# devkit modules whose docstrings hold examples (the layer's are collected by pytest itself)
DOCTESTED = (
    "devkit.latency",
    "devkit.local",
    "devkit.demo.config",
    "devkit.demo.live",
    "devkit.demo.tally",
    "devkit.bench.report",
    "devkit.bench.fixed_cost",
)


@pytest.mark.parametrize("name", DOCTESTED)
def test_the_examples_in_devkit_docstrings_hold(name):
    result = doctest.testmod(importlib.import_module(name))

    assert result.attempted > 0 and result.failed == 0


def test_the_plain_mode_prints_one_line_of_the_same_shape_every_update():
    first = Snapshot(1, 500, 0, 0, 0, 0, 0, 0)
    later = Snapshot(42, 12_345, 12_000, 11_990, 30, 11_900, 7, 60, {"s": (10, 9)}, note="tenant stopped; draining")

    assert plain_line(first) == (
        "    1s  produced 500  read 0  queued 0  on the way 0  delivered 0  retried 0  dead-lettered 0"
    )
    assert plain_line(later) == (
        "   42s  produced 12,345  read 12,000  queued 11,990  on the way 30  delivered 11,900  retried 7"
        "  dead-lettered 60  tenant stopped; draining"
    )
    assert [word for word in plain_line(later).split() if not word[0].isdigit()][: len(TOTALS) + 2] != []


def test_without_the_local_tenant_the_produced_count_is_a_dash():
    assert "produced -  read 5" in plain_line(Snapshot(3, None, 5, 5, 0, 5, 0, 0))


def test_the_bench_exits_1_when_a_figure_misses_its_target_at_full_scale():
    passed, missed, untargeted = (
        Figure("a", 1.0, 1.0, "s", "≤ 2", True),
        Figure("b", 3.0, 1.0, "s", "≤ 2", False),
        Figure("c", 0.2, None, "$"),
    )

    assert exit_status([passed, untargeted], enforced=True) == 0
    assert exit_status([passed, missed, untargeted], enforced=True) == 1
    assert exit_status([passed, missed], enforced=False) == 0
