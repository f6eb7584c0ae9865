"""`make demo` runs end to end: a few seconds of the real pipeline, then its summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from auth0_webhooks.routes import parse_routes

from devkit.demo.routes import EXAMPLE, STACK_NAME, example, localized, uncommented
from tests.conftest import ROOT

PLAIN_LINE = re.compile(
    r" *\d+s  produced [\d,]+  read [\d,]+  queued [\d,]+  on the way [\d,]+  delivered [\d,]+  retried [\d,]+"
    r"  dead-lettered [\d,]+(  [a-z ;]+)?$"
)
# settings that would point the demo at a real tenant, receiver or AWS account
OUTSIDE = ("AUTH0_", "WEBHOOK_", "SLACK_", "AWS_", "LOG_TYPES", "MIN_LOG_LEVEL", "API_ENDPOINTS", "BATCH_SIZE")


def run_demo(tmp_path, **settings: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith(OUTSIDE)}
    environ.update(DEMO_SECONDS="5", DEMO_BACKLOG="300", DEMO_DRAIN_SECONDS="30", DEMO_DIR=str(tmp_path), **settings)
    done = subprocess.run(
        [sys.executable, "-m", "devkit.demo"],
        check=False,
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=100,
    )
    summary = json.loads((tmp_path / "summary.json").read_text()) if (tmp_path / "summary.json").exists() else {}
    return done, summary


def test_three_routes_get_exactly_what_their_match_takes_in_their_format_with_pii_hashed(tmp_path):
    done, summary = run_demo(tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Summary" in done.stdout and "kept logs were delivered" in done.stdout
    assert summary["drained"] and summary["missing"] == []
    assert summary["dead_letter_queue"]["logs"] == 0 and summary["errors"] == {}
    produced = summary["tenant"]["produced"]
    siem, security, events = (summary["routes"][name] for name in ("siem", "security", "events"))
    # the SIEM takes every log, as JSON lines, gzipped, signed; every hashed field arrived hashed
    assert siem["expected"] == siem["received"] == produced and siem["formats"] == ["jsonlines+gzip"]
    assert siem["verified"] == siem["requests"] > 0
    assert siem["hashed"]["done"] >= produced and siem["hashed"]["clear"] == 0
    # the security receiver: only blocked accounts and breached passwords, in Log Streams' JSON array
    assert 0 < security["expected"] == security["received"] < produced and security["unexpected"] == 0
    assert security["formats"] == ["logstream-array"]
    # EventBridge on moto: one event per matching log, ip masked
    assert 0 < events["expected"] == events["received"] and events["unexpected"] == 0
    assert events["duplicates"] == 0 and events["masked"]["clear"] == 0 and events["masked"]["done"] > 0
    assert events["formats"] == ["auth0-webhooks / Auth0 log"]
    for route in (siem, security, events):
        assert route["duplicates"] == 0 and route["dead_lettered"] == 0
    assert summary["poller"]["auth0_requests"] == summary["tenant"]["log_requests"]  # Auth0 read once for all
    assert summary["checkpoint"]["log_id"]
    assert (tmp_path / "logs.jsonl").read_text().count('"message":"poller run ended"') == summary["poller"]["runs"]
    assert "poller run ended" not in done.stdout  # the functions' logs stay out of the way
    # not a terminal: one plain line per update, every one of the same shape, and no escape codes
    updates = [line for line in done.stdout.splitlines() if re.match(r" *\d+s  produced ", line)]
    assert len(updates) >= 5 and all(PLAIN_LINE.match(line) for line in updates), updates
    assert "\x1b[" not in done.stdout
    assert "By log type" in done.stdout and "One log as the receiver got it" in done.stdout
    assert re.search(r"siem +\d[\d,]* of \d[\d,]* logs \(webhook: jsonlines\+gzip\)", done.stdout)
    latency = summary["latency"]
    assert 0 <= latency["measured"]["median"] <= latency["measured"]["p95"]
    assert latency["default_schedule"]["median"] > latency["measured"]["median"]
    # the routes file the demo ran is config/routes.yaml's example, uncommented, with local URLs only
    ran = yaml.safe_load((tmp_path / "routes.yaml").read_text())
    assert ran == localized(
        example(), {r["id"]: r["destination"]["url"] for r in ran["routes"] if "url" in r["destination"]}
    )
    assert [r["id"] for r in ran["routes"]] == ["siem", "security", "events"]
    assert all(r["destination"]["url"].startswith("http://127.0.0.1:") for r in ran["routes"][:2])


@pytest.mark.timeout(150)
def test_with_faults_a_down_receiver_pauses_its_route_loses_nothing_and_holds_up_no_other(tmp_path):
    done, summary = run_demo(tmp_path, DEMO_FAULTS="1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert summary["drained"] and summary["missing"] == []
    siem, security, events = (summary["routes"][name] for name in ("siem", "security", "events"))
    # the security receiver answers 503 while the tenant produces: its route pauses, then resumes
    assert security["down"] and security["refused"].keys() == {"503"}
    assert summary["slack"] and any(t.startswith("Route security paused since") for t in summary["slack"])
    assert any(t.startswith("Route security resumed") for t in summary["slack"])
    # each of its logs arrived after the pause, or used its attempts before it and sits in the DLQ with its route
    assert security["received"] + security["dead_lettered"] == security["expected"] > 0
    assert security["received"] > 0 and security["duplicates"] == 0 and security["unexpected"] == 0
    assert summary["dead_letter_queue"]["logs"] == security["dead_lettered"]
    assert set(summary["dead_letter_queue"]["by_reason"]) <= {"gave up after 3 attempts: HTTP 503 Service Unavailable"}
    # the others are complete, once each
    assert siem["received"] == siem["expected"] == summary["tenant"]["produced"]
    assert events["received"] == events["expected"] > 0
    for route in (siem, events):
        assert route["dead_lettered"] == 0 and route["duplicates"] == 0
    assert summary["tenant"]["answered_429"] <= summary["tenant"]["log_requests"] // 100 + 1


def test_the_demo_reads_the_shipped_example_uncommented():
    data = example()
    routes = parse_routes(data, secret_prefix=STACK_NAME)  # the example is valid, its secrets under the stack's prefix
    assert [route.id for route in routes] == ["siem", "security", "events"]
    assert localized(data, {"siem": "http://a", "security": "http://b"}) != data
    uncommented_lines = uncommented(EXAMPLE.read_text()).splitlines()
    assert not any(line.startswith("#") for line in uncommented_lines)
