"""``auth0-webhooks test-event``: one marked event through a route's real path, against real receivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auth0_webhooks.ops.cli import main as cli

from devkit.receivers import WebhookReceiver
from tests.conftest import AUTHORIZATION, SIGNING_SECRET, set_environ


def test_the_default_route_sends_a_signed_marked_event_and_prints_the_answer(monkeypatch, stack, capsys) -> None:
    with WebhookReceiver(secret=SIGNING_SECRET, authorization=AUTHORIZATION) as receiver:
        values = {
            "WEBHOOK_URL": f"{receiver.url}/auth0",
            "ALLOW_INSECURE_WEBHOOK": "true",
            "WEBHOOK_SECRET": SIGNING_SECRET,
            "WEBHOOK_AUTHORIZATION": AUTHORIZATION,
            **stack.environ(),
        }
        set_environ(monkeypatch, values, ("ROUTES_FILE", "SEND_AS_BATCH", "WEBHOOK_SECRET_ARN"))

        code = cli(["test-event", "--route", "default"])

        [delivery] = receiver.deliveries
    out = capsys.readouterr().out
    assert code == 0
    assert delivery.verified is True  # the Standard Webhooks signature checked with the secret
    [log] = json.loads(delivery.request.body)  # the default route's format: a JSON array
    assert log["type"] == "auth0-webhooks-test" and log["log_id"].startswith("auth0-webhooks-test-")
    assert "HTTP 200, accepted" in out and f"route default → http://{receiver.url.split('://')[1]}" in out
    assert SIGNING_SECRET not in out and AUTHORIZATION not in out


def test_a_route_s_pii_transform_and_format_apply_and_a_refusal_exits_1(monkeypatch, stack, tmp_path, capsys) -> None:
    with WebhookReceiver() as receiver:
        receiver.failures.next, receiver.failures.status = 1, 410
        routes = tmp_path / "routes.yaml"
        routes.write_text(
            "version: 1\nroutes:\n  - id: siem\n    pii: {mask: [description]}\n"
            f"    destination: {{type: webhook, url: '{receiver.url}/in', allow_insecure: true, format: object}}\n"
        )
        set_environ(monkeypatch, {"ROUTES_FILE": str(routes), **stack.environ()}, ("WEBHOOK_URL",))

        code = cli(["test-event", "--route", "siem"])

        [delivery] = receiver.deliveries
    out = capsys.readouterr().out
    assert code == 1 and "HTTP 410, refused" in out
    log = json.loads(delivery.request.body)  # format object: the log itself
    assert log["type"] == "auth0-webhooks-test"
    assert "test event" not in log["description"]  # masked by the route's PII rule


def test_an_unknown_route_is_a_clear_error(monkeypatch, stack, tmp_path, capsys) -> None:
    routes: Path = tmp_path / "routes.yaml"
    routes.write_text(
        "version: 1\nroutes:\n  - id: siem\n    destination: {type: webhook, url: 'https://siem.example/in'}\n"
    )
    set_environ(monkeypatch, {"ROUTES_FILE": str(routes), **stack.environ()}, ("WEBHOOK_URL",))

    assert cli(["test-event", "--route", "nope"]) == 2
    assert "--route must be one of the routes: siem; got 'nope'" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _fresh_routes(cold_powertools) -> None:
    """Each test reads its own routes file and secrets (the deliverer reads them once per container)."""
