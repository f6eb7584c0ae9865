"""`make demo` runs end to end: a few seconds of the real pipeline, then its summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

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


def test_every_log_the_tenant_produced_is_delivered_with_a_valid_signature(tmp_path):
    done, summary = run_demo(tmp_path, LOG_TYPES="s,f,fp,limit_wc,seacft,sercft")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Summary" in done.stdout and "kept logs were delivered" in done.stdout
    assert summary["drained"] and summary["missing"] == []
    assert 0 < summary["kept"] < summary["tenant"]["produced"]  # LOG_TYPES applies as in Lambda
    webhook = summary["webhook"]
    assert webhook["logs"] == summary["kept"] and webhook["verified"] == webhook["requests"]
    assert summary["dead_letter_queue"]["logs"] == 0 and summary["errors"] == {}
    assert summary["checkpoint"]["log_id"]
    assert (tmp_path / "logs.jsonl").read_text().count('"message":"poller run ended"') == summary["poller"]["runs"]
    assert "poller run ended" not in done.stdout  # the functions' logs stay out of the way
    # not a terminal: one plain line per update, every one of the same shape, and no escape codes
    updates = [line for line in done.stdout.splitlines() if re.match(r" *\d+s  produced ", line)]
    assert len(updates) >= 5 and all(PLAIN_LINE.match(line) for line in updates), updates
    assert "\x1b[" not in done.stdout
    assert "By log type" in done.stdout and "One log as the receiver got it" in done.stdout
    latency = summary["latency"]
    assert 0 <= latency["measured"]["median"] <= latency["measured"]["p95"]
    assert latency["default_schedule"]["median"] > latency["measured"]["median"]


@pytest.mark.timeout(150)
def test_with_faults_what_is_not_delivered_sits_in_the_dead_letter_queue_with_its_reason(tmp_path):
    done, summary = run_demo(tmp_path, DEMO_FAULTS="1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert summary["drained"] and summary["missing"] == []
    assert summary["kept"] == summary["tenant"]["produced"]
    dlq = summary["dead_letter_queue"]
    assert summary["webhook"]["logs"] + dlq["logs"] == summary["kept"]
    assert "webhook refused it: HTTP 400 Bad Request" in dlq["by_reason"]  # the poison log's batch
    assert summary["webhook"]["refused"]["400"] >= 1
    assert summary["webhook"]["verified"] == summary["webhook"]["requests"]
    assert summary["slack"]["Webhook delivery failed"] >= 1
    assert summary["tenant"]["answered_429"] <= summary["tenant"]["log_requests"] // 100 + 1
