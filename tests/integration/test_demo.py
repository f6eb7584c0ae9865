"""`make demo` runs end to end: a few seconds of the real pipeline, then its summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from auth0_webhooks.routes import parse_routes

from devkit.demo import mail
from devkit.demo.routes import EXAMPLE, STACK_NAME, example, localized, uncommented
from devkit.logs import LogFactory
from tests.conftest import ROOT

PLAIN_LINE = re.compile(
    r" *\d+s  produced [\d,]+  read [\d,]+  queued [\d,]+  on the way [\d,]+  delivered [\d,]+  retried [\d,]+"
    r"  dead-lettered [\d,]+(  [a-z ;]+)?$"
)
# settings that would point the demo at a real tenant, receiver or AWS account
OUTSIDE = ("AUTH0_", "WEBHOOK_", "SLACK_", "AWS_", "LOG_TYPES", "MIN_LOG_LEVEL", "API_ENDPOINTS", "BATCH_SIZE")
MAIL_ROUTES = {"notify-password-changed": "scp", "notify-account-blocked": "limit_wc"}
ACCOUNTED = ("sent", "skipped", "held", "dead_lettered")  # what may become of a log a notification route takes


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
    # the deliverer's counts are the routes' delivery records (what `auth0-webhooks status` shows): all delivered
    assert summary["deliverer"]["delivered"] == summary["kept"] and summary["deliverer"]["invocations"] > 0
    assert re.search(rf"on the way 0  delivered {summary['kept']:,}  retried 0  dead-lettered 0  done$", updates[-1])
    assert "\x1b[" not in done.stdout
    assert "By log type" in done.stdout and "One log as the receiver got it" in done.stdout
    assert re.search(r"siem +\d[\d,]* of \d[\d,]* logs \(webhook: jsonlines\+gzip\)", done.stdout)
    latency = summary["latency"]
    assert 0 <= latency["measured"]["median"] <= latency["measured"]["p95"]
    assert latency["default_schedule"]["median"] > latency["measured"]["median"]
    # the routes file the demo ran is config/routes.yaml's example, uncommented, with local URLs only
    ran = yaml.safe_load((tmp_path / "routes.yaml").read_text())
    local = localized(example(), {r["id"]: r["destination"]["url"] for r in ran["routes"] if "url" in r["destination"]})
    assert ran == {**local, "routes": local["routes"] + mail.routes()}  # and the demo's notification routes
    assert [r["id"] for r in ran["routes"]] == ["siem", "security", "events", *MAIL_ROUTES]
    assert all(r["destination"]["url"].startswith("http://127.0.0.1:") for r in ran["routes"][:2])
    assert_mails(tmp_path, done.stdout, summary)


def assert_mails(folder, stdout: str, summary: dict) -> None:
    """Every log the notification routes take got its one mail, or is accounted for; none went twice."""
    produced = {kind: int(n) for kind, n in re.findall(r"^  (\w+) +([\d,]+) +[\d,]+$", stdout, re.MULTILINE)}
    notified = [json.loads(line) for line in (folder / "logs.jsonl").read_text().splitlines() if "notification" in line]
    said = [(n["route"], n["log_id"], n["outcome"]) for n in notified if n.get("message") == "notification"]
    report = summary["mail"]
    for route_id, log_type in MAIL_ROUTES.items():
        route = report["routes"][route_id]
        ids = route["log_ids"]
        # the tenant's logs of that type, each in exactly one of the accounted states
        assert route["matched"] == produced[log_type] > 0 and route["missing"] == [] and set(ids) <= set(ACCOUNTED)
        assert sum(route[state] for state in ACCOUNTED) == route["matched"]
        # one mail per sent log, to its user with its template's content; the deliverer said "sent" once for each
        assert route["mails"] == route["sent"] > 0 and route["duplicates"] == 0
        for state in ("sent", "skipped"):
            assert sorted(i for r, i, outcome in said if r == route_id and outcome == state) == ids.get(state, [])
    assert report["unexpected"] == 0 and report["sent"] == sum(r["mails"] for r in report["routes"].values())
    # the last few as HTML files, listed in the summary: each to a verified address, with its subject
    verified = {p["email"] for p in LogFactory(seed=7).profiles() if p["email_verified"]}
    assert [Path(f).name for f in report["files"]] == [f"mail-{n}.html" for n in range(1, mail.KEEP_LAST + 1)]
    for path in map(Path, report["files"]):
        text = path.read_text()
        head = re.search(r"<b>To:</b> (.+?)<br><b>Subject:</b> (.+?)</p>", text)
        assert head is not None and head[1] in verified and f"<title>{head[2]}</title>" in text
        assert str(path) in stdout  # printed in the summary


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
    # what `auth0-webhooks status` showed as the route paused: that route open, the others healthy
    status = summary["status_while_paused"]["text"]
    assert re.search(
        r"^route  security +open .*→  paused since \d\d:\d\d: HTTP 503 from 127\.0\.0\.1:\d+$", status, re.M
    )
    assert re.search(r"^route  siem +closed .*→  healthy$", status, re.M)
    assert status == (tmp_path / "status-while-paused.txt").read_text() and "as the route paused" in done.stdout
    # each of its logs arrived after the pause, or used its attempts before it and sits in the DLQ with its route
    assert security["received"] + security["dead_lettered"] == security["expected"] > 0
    assert security["received"] > 0 and security["duplicates"] == 0 and security["unexpected"] == 0
    # the notification routes share the tenant's rate limit: a look-up answered 429 is retried, or dead-lettered
    mail_dead = sum(route["dead_lettered"] for route in summary["mail"]["routes"].values())
    assert summary["dead_letter_queue"]["logs"] == security["dead_lettered"] + mail_dead
    assert set(summary["dead_letter_queue"]["by_reason"]) <= {
        "gave up after 3 attempts: HTTP 503 Service Unavailable",
        "gave up after 3 attempts: user look-up rate limited (429)",
    }
    assert_mails(tmp_path, done.stdout, summary)
    # the others are complete, once each
    assert siem["received"] == siem["expected"] == summary["tenant"]["produced"]
    assert events["received"] == events["expected"] > 0
    for route in (siem, events):
        assert route["dead_lettered"] == 0 and route["duplicates"] == 0
    assert summary["tenant"]["answered_429"] <= summary["tenant"]["log_requests"] // 100 + 1
    deliverer = summary["deliverer"]  # from the routes' delivery records: held while paused, then delivered
    assert deliverer["delivered"] + deliverer["dead_lettered"] == summary["kept"] and deliverer["held"] > 0


def test_the_demo_reads_the_shipped_example_uncommented():
    data = example()
    routes = parse_routes(data, secret_prefix=STACK_NAME)  # the example is valid, its secrets under the stack's prefix
    assert [route.id for route in routes] == ["siem", "security", "events"]
    assert localized(data, {"siem": "http://a", "security": "http://b"}) != data
    uncommented_lines = uncommented(EXAMPLE.read_text()).splitlines()
    assert not any(line.startswith("#") for line in uncommented_lines)
