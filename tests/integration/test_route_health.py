"""Route health through the deliverer: a failing route pauses, holds its logs, is probed and resumes.

Each invocation is the handler's own two lines (settings, then ``build_deliverer(...).process``)
with the breaker's clock injected: rounds are 20 s apart on that clock, never on the wall clock.
``BREAKER_PROBE_SECONDS=0`` makes a held message visible again at once (SQS's delay is real time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from auth0_webhooks.deliverer import build_deliverer
from auth0_webhooks.health.breaker import BreakerStore
from auth0_webhooks.health.record import RecordStore
from auth0_webhooks.ops.status import gather, render
from auth0_webhooks.ops.status_command import print_tables
from auth0_webhooks.settings import DelivererSettings

from devkit.aws import Stack
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.receivers import SlackReceiver, WebhookReceiver
from tests.conftest import ids_of, set_environ
from tests.integration.deliverer_helpers import dead_letters, source
from tests.integration.test_deliverer_routes import enqueue_route

Clock = list[datetime]


@pytest.fixture
def health_env(stack: Stack, slack: SlackReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "ROUTES_FILE": str(tmp_path / "routes.yaml"),
        "STACK_NAME": "health-test",
        "SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/T000/B000/slack-secret-part",
        "MAX_RECEIVE_COUNT": "3",
        "BREAKER_FAILURES": "3",
        "BREAKER_PROBE_SECONDS": "0",
        **stack.environ(),
    }
    unset = ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION", "SEND_AS_BATCH", "RETRY_BASE_SECONDS")
    return set_environ(monkeypatch, values, unset)


def routes(env: dict[str, str], **receivers: WebhookReceiver) -> None:
    listed = [
        {"id": name, "destination": {"type": "webhook", "url": f"{r.url}/in", "allow_insecure": True}}
        for name, r in receivers.items()
    ]
    Path(env["ROUTES_FILE"]).write_text(yaml.safe_dump({"version": 1, "routes": listed}))


def handler(clock: Clock) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """functions/deliverer/app.py's handler, with the breaker's clock injected."""

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deliverer = build_deliverer(DelivererSettings.from_env(), now=lambda: clock[0])
        return deliverer.process(event, lambda: context.get_remaining_time_in_millis() / 1000)

    return handle


def run(stack: Stack, clock: Clock, rounds: int, until: Callable[[], bool]) -> int:
    """Invoke round after round (20 s apart on the clock) until ``until()``; returns the rounds used."""
    events, handle = source(stack), handler(clock)
    for used in range(1, rounds + 1):
        events.poll_once(handle)
        events.release_failed()  # the records handed back are due again by the next round
        clock[0] += timedelta(seconds=20)
        if until():
            return used
    raise AssertionError(f"not done after {rounds} rounds")


def titles(slack: SlackReceiver, route: str) -> list[str]:
    return [t.split(" since ")[0].split(":")[0] for t in slack.titles() if t.startswith(f"Route {route} ")]


def test_an_outage_pauses_the_route_and_every_log_arrives_after_recovery_while_another_route_goes_on(
    health_env: dict[str, str], stack: Stack, slack: SlackReceiver
) -> None:
    with WebhookReceiver() as flaky, WebhookReceiver() as steady:
        routes(health_env, flaky=flaky, steady=steady)
        flaky.failures.next, flaky.failures.status = 12, 503  # down for 12 requests: 3 pause it, then probes
        logs = LogFactory(seed=71).many(40)
        mine = {"flaky": logs[:30], "steady": logs[30:]}
        enqueue_route(stack, "flaky", mine["flaky"], per_message=5)
        enqueue_route(stack, "steady", mine["steady"], per_message=5)
        clock = [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)]
        paused_seen: list[bool] = []

        def done() -> bool:
            paused_seen.append(BreakerStore(stack.client("dynamodb"), stack.table).load("flaky").paused)
            return flaky.delivered_ids == ids_of(mine["flaky"]) and steady.delivered_ids == ids_of(mine["steady"])

        run(stack, clock, rounds=40, until=done)

        assert steady.delivered_ids == ids_of(mine["steady"])
        assert flaky.delivered_ids == ids_of(mine["flaky"])  # every log once: none lost, none sent twice
        assert True in paused_seen and paused_seen[-1] is False  # it paused, and it resumed
        assert dead_letters(stack) == []
        assert flaky.failures.next == 0
    assert titles(slack, "flaky") == ["Route flaky paused", "Route flaky resumed"]
    record = RecordStore(stack.client("dynamodb"), stack.table).load("flaky")
    assert record.delivered == 30 and record.dead_lettered == 0 and record.held > 0
    assert record.host == f"{flaky.url.split('://')[0]}://{flaky.url.split('://')[1].split('/')[0]}/…"
    assert record.failures and {f.status for f in record.failures} == {503}
    assert record.last_success is not None and record.last_success.newest_log_id in ids_of(mine["flaky"])


def test_a_route_that_is_not_failing_delivers_during_another_routes_outage(
    health_env: dict[str, str], stack: Stack, slack: SlackReceiver
) -> None:
    with WebhookReceiver() as down, WebhookReceiver() as steady:
        routes(health_env, down=down, steady=steady)
        down.failures.next = 10_000  # for the whole test
        logs = LogFactory(seed=72).many(20)
        enqueue_route(stack, "down", logs[:10], per_message=5)
        enqueue_route(stack, "steady", logs[10:], per_message=5)
        clock = [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)]

        run(stack, clock, rounds=5, until=lambda: steady.delivered_ids == ids_of(logs[10:]))
        for _ in range(10):  # the outage goes on: its logs wait, none is dead-lettered
            run(stack, clock, rounds=1, until=lambda: True)

        assert down.delivered_ids == []
        assert dead_letters(stack) == []
        assert BreakerStore(stack.client("dynamodb"), stack.table).load("down").paused
    assert titles(slack, "down") == ["Route down paused"]
    assert titles(slack, "steady") == []


def test_410_pauses_at_once_and_the_logs_wait_for_the_probe(
    health_env: dict[str, str], stack: Stack, slack: SlackReceiver
) -> None:
    with WebhookReceiver() as gone:
        routes(health_env, gone=gone)
        gone.failures.next, gone.failures.status = 1, 410
        logs = LogFactory(seed=73).many(5)
        enqueue_route(stack, "gone", logs, per_message=5)
        clock = [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)]

        run(stack, clock, rounds=1, until=lambda: True)

        state = BreakerStore(stack.client("dynamodb"), stack.table).load("gone")
        assert (state.paused, state.last_status) == (True, 410)
        assert dead_letters(stack) == [] and gone.delivered_ids == []
        run(stack, clock, rounds=5, until=lambda: gone.delivered_ids == ids_of(logs))  # the probe finds it back
    assert titles(slack, "gone") == ["Route gone paused", "Route gone resumed"]
    assert "HTTP 410" in next(t for t in slack.titles() if t.startswith("Route gone paused"))


def test_status_after_a_real_run_shows_the_paused_route_with_its_host_and_the_healthy_one(
    health_env: dict[str, str], stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as down, WebhookReceiver() as steady:
        routes(health_env, down=down, steady=steady)
        down.failures.next = 10_000
        logs = LogFactory(seed=74).many(20)
        enqueue_route(stack, "down", logs[:10], per_message=5)
        enqueue_route(stack, "steady", logs[10:], per_message=5)
        clock = [datetime(2026, 1, 1, 10, 42, tzinfo=UTC)]
        breakers = BreakerStore(stack.client("dynamodb"), stack.table)
        run(stack, clock, rounds=5, until=lambda: steady.delivered_ids == ids_of(logs[10:]))
        run(stack, clock, rounds=5, until=lambda: breakers.load("down").paused)
        host = down.url.split("://")[1].split("/")[0]

    status = gather(
        stack.client("dynamodb"),
        stack.client("sqs"),
        stack.table,
        stack.queue_url,
        stack.dead_letter_queue_url,
        clock[0],
    )
    verdicts = {r.route: r.verdict for r in status.routes}
    assert verdicts == {"down": f"paused since 10:42: HTTP 503 from {host}", "steady": "healthy"}
    [paused] = [r for r in status.routes if r.route == "down"]
    assert paused.held > 0 and paused.delivered == 0 and paused.recent_errors
    print_tables(status, width=240)
    tables = capsys.readouterr().out
    assert f"paused since 10:42: HTTP 503 from {host}" in tables and "Routes" in tables
    assert f"paused since 10:42: HTTP 503 from {host}" in render(status)
