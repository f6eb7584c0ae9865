"""`auth0-webhooks status` and `routes list|pause|resume` on a moto stack: one paused route, one healthy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from auth0_webhooks.checkpoint import CheckpointStore
from auth0_webhooks.health.breaker import Breaker, BreakerStore
from auth0_webhooks.health.record import DeliveryLog, RecordStore
from auth0_webhooks.ops import cli
from auth0_webhooks.ops.status import gather, render
from auth0_webhooks.webhook import Outcome

from devkit.aws import Stack

NOW = datetime(2026, 1, 1, 10, 50, tzinfo=UTC)


def demo_like(stack: Stack) -> None:
    client = stack.client("dynamodb")
    CheckpointStore(client, stack.table, "tenant.example.auth0.com").advance(None, "log-90", "2026-01-01T10:36:00Z")
    CheckpointStore(client, stack.table, "tenant.example.auth0.com").record_success()
    breaker = Breaker(BreakerStore(client, stack.table), clock=lambda: datetime(2026, 1, 1, 10, 42, tzinfo=UTC))
    breaker.record("siem", Outcome.of_status(410, "Gone"))
    records = RecordStore(client, stack.table)
    failed = DeliveryLog()
    failed.failed("2026-01-01T10:42:00Z", 410, "gone", "HTTP 410 Gone")
    records.flush("siem", failed)
    ok = DeliveryLog()
    ok.succeeded((NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"), "log-90", 85, logs=12)
    records.flush("archive", ok)
    stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody="[]")


def test_status_shows_one_paused_and_one_healthy_route_with_verdicts(stack: Stack) -> None:
    demo_like(stack)

    status = gather(
        stack.client("dynamodb"), stack.client("sqs"), stack.table, stack.queue_url, stack.dead_letter_queue_url, NOW
    )
    verdicts = {r.route: r.verdict for r in status.routes}

    assert verdicts == {"archive": "healthy", "siem": "paused since 10:42: HTTP 410"}
    assert [p.verdict for p in status.pollers] == ["poller 14 min behind"]
    assert status.queue.waiting == 1
    assert not status.healthy
    text = render(status)
    assert "siem" in text and "paused since 10:42: HTTP 410" in text and "10:42 HTTP 410 Gone" in text


def test_the_command_prints_json_and_pause_resume_write_the_breaker(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_like(stack)
    target = ["--table", stack.table]

    assert cli.main(["routes", "pause", "archive", *target]) == 0
    code = cli.main(
        [
            "status",
            "--json",
            *target,
            "--queue-url",
            stack.queue_url,
            "--dead-letter-queue-url",
            stack.dead_letter_queue_url,
        ]
    )
    out = capsys.readouterr().out
    routes = {r["route"]: r for r in json.loads(out[out.index("{") :])["routes"]}

    assert code == 3  # not healthy
    assert routes["archive"]["state"] == "open"
    assert routes["archive"]["verdict"].startswith("paused by an operator since ")
    assert cli.main(["routes", "resume", "archive", *target]) == 0
    assert not BreakerStore(stack.client("dynamodb"), stack.table).load("archive").paused


def test_a_bad_route_id_is_refused_naming_what_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["routes", "pause", "no spaces!", "--table", "t"])

    assert "must be a route id (lower-case letters, digits and -, as in the routes file)" in capsys.readouterr().err


def test_routes_list_shows_each_route_with_its_state_and_verdict(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--table", stack.table]
    assert cli.main(["routes", "list", *target]) == 0
    empty = capsys.readouterr().out
    demo_like(stack)

    assert cli.main(["routes", "pause", "archive", *target]) == 0
    assert cli.main(["routes", "list", *target]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]  # after the pause's line
    assert cli.main(["routes", "list", "--json", *target]) == 0
    listed = json.loads(capsys.readouterr().out)["routes"]

    assert empty.startswith("no routes yet")
    assert [line.split()[:2] for line in lines] == [["archive", "open"], ["siem", "open"]]
    assert "paused by an operator since" in lines[0] and lines[1].endswith("paused since 10:42: HTTP 410")
    assert [(r["route"], r["state"]) for r in listed] == [("archive", "open"), ("siem", "open")]
    assert listed[1]["verdict"] == "paused since 10:42: HTTP 410"
    assert cli.main(["routes", "resume", "archive", *target]) == 0
    assert cli.main(["routes", "list", *target]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["archive", "closed", "healthy"]


def test_routes_list_of_a_missing_table_says_so_and_exits_1(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["routes", "list", "--table", "no-such-table"])

    assert code == 1
    assert capsys.readouterr().err.startswith("routes list: ")
