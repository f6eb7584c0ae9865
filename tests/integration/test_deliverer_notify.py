"""E-mail and Slack routes through the deliverer's handler: the local tenant's users, moto's SQS,
DynamoDB, Secrets Manager and SES, a local Slack. Each test has its own addresses (moto keeps every
message of the session); time passing is ``release_failed``, never a sleep."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from auth0_webhooks.dead_letters import ROUTE

from devkit.aws import MotoServer, Stack
from devkit.receivers import SlackReceiver
from devkit.tenant import LocalTenant, TokenBucket
from functions.deliverer.app import lambda_handler
from tests.conftest import set_environ
from tests.integration.deliverer_helpers import dead_letters, source
from tests.integration.test_deliverer_routes import enqueue_route, run_until_settled, write_routes
from tests.notify_samples import log

ROOT = Path(__file__).resolve().parents[2]
STACK = "notify-test"
SENDER = "Acme Security <security@acme.test>"
PASSWORD_CHANGED = {"id": "pw", "destination": {"type": "email", "template": "password-changed", "from": SENDER}}


@pytest.fixture
def people() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {who: f"{who}-{tag}@example.com" for who in ("ana", "bob", "carol")}


@pytest.fixture
def users_tenant(people: dict[str, str]) -> Iterator[LocalTenant]:
    with LocalTenant(scope="read:logs read:users") as tenant:
        tenant.add_users(
            [
                {"user_id": "auth0|ana", "email": people["ana"], "email_verified": True, "name": "Ana Silva"},
                {"user_id": "auth0|bob", "email": people["bob"], "email_verified": False, "name": "Bob"},
                {"user_id": "auth0|carol", "email": people["carol"], "email_verified": True, "name": "Carol"},
            ]
        )
        yield tenant


@pytest.fixture
def notify_env(stack, users_tenant, slack, tmp_path, monkeypatch, cold_powertools):
    """The deliverer's settings with a routes file, the Auth0 application and the ledger's table."""
    stack.client("sesv2").create_email_identity(EmailIdentity="security@acme.test")
    values = {
        "ROUTES_FILE": str(tmp_path / "routes.yaml"),
        "TEMPLATES_DIR": str(ROOT / "config" / "templates"),
        "STACK_NAME": STACK,
        "AUTH0_DOMAIN": users_tenant.url,
        "AUTH0_CLIENT_ID": "local-client",
        "AUTH0_CLIENT_SECRET": "local-secret-do-not-log",
        "SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/T000/B000/slack-secret-part",
        "MAX_RECEIVE_COUNT": "3",
        **stack.environ(),
    }
    unset = ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION", "SEND_AS_BATCH", "RETRY_BASE_SECONDS")
    return set_environ(monkeypatch, values, unset)


def mails_to(moto: MotoServer, people: dict[str, str]) -> list[dict[str, Any]]:
    """What moto's SES sent to this test's people."""
    data = requests.get(f"{moto.url}/moto-api/data.json", timeout=10).json()
    ours = set(people.values())
    return [m for m in data["ses"]["Message"] if set(m["destinations"]["ToAddresses"]) & ours]


def mailed(moto: MotoServer, people: dict[str, str]) -> list[str]:
    return sorted(a for m in mails_to(moto, people) for a in m["destinations"]["ToAddresses"])


def test_the_seeds_case_a_password_change_mails_the_user_once_however_often_it_is_delivered(
    notify_env, stack: Stack, moto: MotoServer, people
):
    write_routes(notify_env, PASSWORD_CHANGED)
    batch = [log("9001", "scp", user_id="auth0|ana")]
    for _ in range(3):  # a retried batch, a redrive, a replay of the window
        enqueue_route(stack, "pw", batch)

    run_until_settled(stack)

    (mail,) = mails_to(moto, people)
    assert mail["destinations"]["ToAddresses"] == [people["ana"]] and mail["source"] == SENDER
    assert mail["subject"] == "Your password was changed"
    assert f"The password of your account {people['ana']} was changed." in mail["body"]
    assert dead_letters(stack) == []


def test_a_typed_address_on_a_failed_login_gets_no_mail_and_unverified_ones_neither(
    notify_env, stack: Stack, moto: MotoServer, people
):
    write_routes(notify_env, {**PASSWORD_CHANGED, "id": "any"})
    enqueue_route(
        stack,
        "any",
        [
            log("9101", "fp", user_id="auth0|nobody", user_name=people["carol"]),  # typed by whoever tried
            log("9102", "scp", user_id="auth0|bob"),  # bob has not verified his address
            log("9103", "scp", user_id="auth0|ana", user_name=people["carol"]),
        ],
    )

    run_until_settled(stack)

    assert mailed(moto, people) == [people["ana"]]
    assert dead_letters(stack) == []  # skipped on purpose: delivered, not failed


def test_a_429_on_the_look_up_retries_the_log_later_and_never_drops_it(
    notify_env, stack: Stack, moto: MotoServer, people, users_tenant
):
    write_routes(notify_env, PASSWORD_CHANGED)
    users_tenant.bucket = TokenBucket(burst=1, rate=0.001)  # one look-up, then 429s
    logs = [log("9201", "scp", user_id="auth0|ana"), log("9202", "scp", user_id="auth0|carol")]
    enqueue_route(stack, "pw", logs, per_message=1)
    events = source(stack)

    handed, failed = events.poll_once(lambda_handler)

    # the two records run at once: whichever looks its user up first gets the one token; the other's
    # record is put back to wait (attempts kept, no failure), delayed until the rate limit resets (SQS's
    # longest delay, 900 s, for this bucket): tests/integration/test_notify_waits.py sees it come back
    assert (handed, failed) == (2, 0)
    [first] = mailed(moto, people)
    assert first in (people["ana"], people["carol"])
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert dead_letters(stack) == []


def test_a_refused_look_up_is_dead_lettered_with_the_route_and_the_reason(
    notify_env, stack: Stack, moto: MotoServer, people, users_tenant
):
    users_tenant.scope = "read:logs"  # the application was not given read:users
    write_routes(notify_env, PASSWORD_CHANGED)
    enqueue_route(stack, "pw", [log("9301", "scp", user_id="auth0|ana")])

    run_until_settled(stack)

    assert mailed(moto, people) == []
    (dead,) = dead_letters(stack)
    assert [entry["log_id"] for entry in json.loads(dead["Body"])] == ["9301"]
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes[ROUTE] == "pw" and "read:users" in attributes["reason"]


def test_a_slack_route_posts_one_message_per_log(notify_env, stack: Stack, people):
    with SlackReceiver() as channel:
        secret = f"{STACK}/security-channel-{uuid.uuid4().hex[:6]}"
        stack.client("secretsmanager").create_secret(Name=secret, SecretString=f"{channel.url}/services/T1/B1/x")
        destination = {"type": "slack", "template": "security-alert", "webhook_url_secret": secret}
        write_routes(notify_env, {"id": "security", "destination": destination})
        blocked, leaked = log("9401", "limit_wc", user_id="auth0|ana"), log("9402", "pwd_leak", user_id="auth0|carol")
        enqueue_route(stack, "security", [blocked, leaked, blocked])  # a copy in the batch: still one message

        run_until_settled(stack)

        assert len(channel.payloads) == 2
        texts = [payload["text"] for payload in channel.payloads]
        assert sum(people["ana"] in text for text in texts) == 1
        assert sum(people["carol"] in text for text in texts) == 1
        assert dead_letters(stack) == []


def test_preview_prints_what_would_be_sent_writes_the_html_and_sends_only_to_the_test_address(
    notify_env, stack: Stack, moto: MotoServer, people, tmp_path, capsys
):
    from auth0_webhooks.ops.cli import main

    write_routes(notify_env, PASSWORD_CHANGED)
    entry = tmp_path / "scp.json"
    entry.write_text(json.dumps(log("9601", "scp", user_id="auth0|ana")))
    html = tmp_path / "out.html"
    args = ["preview", "--route", "pw", "--log", str(entry), "--html", str(html)]

    assert main(args) == 0

    printed = capsys.readouterr().out
    assert f"To: {people['ana']}" in printed and "Subject: Your password was changed" in printed
    assert f"The password of your account {people['ana']} was changed." in printed
    assert people["ana"] in html.read_text() and html.read_text().lstrip().lower().startswith("<!doctype html")
    assert mails_to(moto, people) == []  # nothing sent
    tester = f"tester-{uuid.uuid4().hex[:6]}@example.com"
    assert main([*args, "--send-to", tester]) == 0
    data = requests.get(f"{moto.url}/moto-api/data.json", timeout=10).json()
    assert [m["subject"] for m in data["ses"]["Message"] if m["destinations"]["ToAddresses"] == [tester]] == [
        "Your password was changed"
    ]
    assert mails_to(moto, people) == []  # the user got nothing

    entry.write_text(json.dumps(log("9602", "scp", user_id="auth0|bob")))  # not verified
    assert main(args) == 1
    assert "Would not send: the user's e-mail address is not verified" in capsys.readouterr().out
    assert main(["preview", "--route", "nope", "--log", str(entry)]) == 2
    assert "no route 'nope'" in capsys.readouterr().err
