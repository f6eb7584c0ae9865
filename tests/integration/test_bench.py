"""`make bench` does not rot: a tiny run prints every row of the table. No timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

ROWS = (
    "1. backlog drain",
    "1b. backlog read in slices, Enterprise",
    "1c. backlog read in slices, Essentials",
    "2. delivery",
    "3a. poller CPU per log",
    "3b. deliverer CPU per log",
    "3c. poller CPU per log, three routes",
    "3d. deliverer CPU per log, three routes",
    "4. cold start: import poller handler",
    "4. cold start: import deliverer handler",
    "5a. peak memory: poller",
    "5b. peak memory: deliverer batch",
    "6. cost per million logs",
    "6. cost per million logs, gzip",
    "6. fixed cost a month, idle",
    "7. latency, date to delivery, 1-min schedule: median",
    "7. latency, date to delivery, 1-min schedule: 95th percentile",
)


@pytest.mark.timeout(240)
def test_a_tiny_bench_prints_the_whole_table():
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "AUTH0_", "WEBHOOK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "devkit.bench", "--scale", "0.02"],
        check=False,
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=230,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    names = [line.split("|")[1].strip() for line in table]
    for row in ROWS:  # each row once ("6. cost per million logs, gzip" is not "6. cost per million logs")
        longer = [other for other in ROWS if other != row and other.startswith(row)]
        found = [n for n in names if n.startswith(row) and not any(n.startswith(o) for o in longer)]
        assert len(found) == 1, row
    assert "Machine:" in done.stdout and "Cost per million logs" in done.stdout
    assert "$" in done.stdout.split("Cost per million logs")[1]
    assert "Fixed cost a month, idle" in done.stdout and "CloudWatch custom metrics" in done.stdout
    # a tiny run misses targets, but below scale 1 they are reported, not enforced (exit 0, checked above)
    assert "not enforced below scale 1" in done.stdout or "FAIL" not in done.stdout
