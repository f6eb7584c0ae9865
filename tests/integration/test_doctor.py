"""The doctor against the local tenant and real local webhook and Slack receivers, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from auth0_webhooks.ops.doctor import SLACK_TEST_TEXT
from auth0_webhooks.ops.doctor_command import main

from devkit.aws import free_port
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy
from devkit.receivers import SlackReceiver, WebhookReceiver
from devkit.tenant import LocalTenant
from tests.conftest import AUTHORIZATION, ROOT
from tests.conftest import SIGNING_SECRET as SECRET

CLIENT_SECRET = "local-secret-do-not-log"
SECRETS = (CLIENT_SECRET, SECRET, AUTHORIZATION, "slack-secret-part", "url-secret", "do-not-log", "s3cr3t")


def auth0_config(tenant: LocalTenant) -> dict[str, str]:
    return {"AUTH0_DOMAIN": tenant.url, "AUTH0_CLIENT_ID": "local-client", "AUTH0_CLIENT_SECRET": CLIENT_SECRET}


def webhook_config(webhook: WebhookReceiver) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"{webhook.url}/hooks/auth0?token=url-secret",
        "ALLOW_INSECURE_WEBHOOK": "true",
        "WEBHOOK_AUTHORIZATION": AUTHORIZATION,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_TIMEOUT": "1",
    }


def slack_config(slack: SlackReceiver) -> dict[str, str]:
    return {"SLACK_INCOMING_WEBHOOK_URL": f"{slack.url}/services/T000/B000/slack-secret-part"}


def doctor(capsys, environ: dict[str, str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args), environ)
    output = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in output
    return code, output.splitlines()


def test_a_good_configuration_passes_every_check(capsys, tenant, webhook, slack):
    logs = LogFactory(seed=1).many(3)
    tenant.add(logs)
    environ = {**auth0_config(tenant), **webhook_config(webhook), **slack_config(slack)}

    code, lines = doctor(capsys, environ, "--slack-test")

    assert code == 0
    assert lines == [
        f"✓ Auth0: client local-client got a token and can read logs (the oldest log kept is from {logs[0]['date']})",
        f"✓ Webhook: http://127.0.0.1:{webhook.port}/… accepted a signed empty batch (HTTP 200)",
        f"✓ Slack: http://127.0.0.1:{slack.port}/… accepted a test message",
    ]
    [delivery] = webhook.deliveries
    assert delivery.request.body == b"[]" and delivery.verified is True
    assert delivery.request.headers["authorization"] == AUTHORIZATION
    assert delivery.request.headers["webhook-id"].startswith("doctor_")
    assert [p["text"] for p in slack.payloads] == [SLACK_TEST_TEXT]
    assert [query.get("per_page") for _, query, _ in tenant.stats.calls] == ["1"]  # one log read, no more


def test_a_wrong_client_secret_is_named(capsys, tenant):
    code, lines = doctor(capsys, {**auth0_config(tenant), "AUTH0_CLIENT_SECRET": "not-the-right-one"})

    assert code == 1
    [line] = lines
    assert line.startswith("✗ Auth0: wrong client id or secret: check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET")
    assert "not-the-right-one" not in line
    assert tenant.stats.log_requests == 0


def test_a_missing_read_logs_scope_is_named(capsys):
    with LocalTenant(scope="read:users") as tenant:
        code, lines = doctor(capsys, auth0_config(tenant))

    assert code == 1
    [line] = lines
    assert line.startswith("✗ Auth0: the application lacks the read:logs scope: grant it under Applications → APIs")
    assert "Insufficient scope" in line  # what Auth0 said, too


def test_a_domain_that_is_not_the_tenants_own_is_explained(capsys, tenant):
    with FaultProxy(tenant.url) as proxy:  # another host in front of the tenant, as a custom domain is
        code, lines = doctor(capsys, {**auth0_config(tenant), "AUTH0_DOMAIN": proxy.url})

    assert code == 1
    [line] = lines
    assert line.startswith(
        "✗ Auth0: the application may not call the Management API: authorize it under Applications → APIs → "
        "Auth0 Management API → Machine to Machine Applications, and use the tenant's own domain"
    )
    assert "Service not enabled within domain" in line


def test_an_unreachable_tenant_is_named(capsys):
    code, lines = doctor(
        capsys,
        {"AUTH0_DOMAIN": f"http://127.0.0.1:{free_port()}", "AUTH0_CLIENT_ID": "x", "AUTH0_CLIENT_SECRET": "s3cr3t"},
    )

    assert code == 1
    assert lines[0].startswith("✗ Auth0: could not get a token: check that AUTH0_DOMAIN is the tenant's domain")


def test_an_incomplete_auth0_configuration_names_the_missing_setting(capsys, tenant):
    code, lines = doctor(capsys, {"AUTH0_DOMAIN": tenant.url, "AUTH0_CLIENT_ID": "local-client"})

    assert code == 1
    assert lines == [
        "✗ Auth0: AUTH0_CLIENT_SECRET must be set, or AUTH0_CLIENT_SECRET_ARN set to a Secrets Manager secret "
        "or SSM parameter; got ''"
    ]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("authorization", "refused the credentials (HTTP 401): check WEBHOOK_AUTHORIZATION and WEBHOOK_SECRET"),
        ("signature", "refused the test request (HTTP 400): a wrong signature (WEBHOOK_SECRET), or a receiver"),
        ("404", "has no such endpoint (HTTP 404): check the path in WEBHOOK_URL"),
        ("410", "says the endpoint is gone (HTTP 410): every delivery would go to the dead-letter queue"),
        ("503", "is failing right now (HTTP 503); deliveries would be retried, but it must answer 2xx"),
        ("timeout", "did not answer within WEBHOOK_TIMEOUT (1 s): is it up and reachable?"),
    ],
)
def test_a_webhook_problem_is_said_in_plain_words(capsys, webhook, breakage, expected):
    if breakage == "authorization":
        webhook.authorization = "Bearer something-else"
    elif breakage == "signature":
        webhook.secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    elif breakage == "timeout":
        webhook.failures.delay = 2.0
    else:
        webhook.failures.next, webhook.failures.status = 1, int(breakage)

    code, lines = doctor(capsys, webhook_config(webhook))

    assert code == 1
    [line] = lines
    assert line.startswith(f"✗ Webhook: http://127.0.0.1:{webhook.port}/… {expected}")


def test_an_unreachable_webhook_and_a_bad_setting_are_named(capsys):
    port = free_port()
    code, lines = doctor(capsys, {"WEBHOOK_URL": f"http://127.0.0.1:{port}/x", "ALLOW_INSECURE_WEBHOOK": "true"})
    assert code == 1
    assert lines == [
        f"✗ Webhook: http://127.0.0.1:{port}/… could not be reached (connection failed (ConnectionError)): "
        "check the host and port in WEBHOOK_URL, DNS and TLS"
    ]

    code, lines = doctor(capsys, {"WEBHOOK_URL": "https://example.com/x", "WEBHOOK_SECRET": "not-a-s3cr3t"})
    assert code == 1
    [line] = lines
    assert line.startswith("✗ Webhook: WEBHOOK_SECRET must be a Standard Webhooks secret (whsec_ + base64)")


@pytest.mark.parametrize(
    ("url", "ok", "expected"),
    [
        (
            "https://hooks.slack.com/services/T0001/B0002/abcDEF123",
            True,
            "✓ Slack: https://hooks.slack.com/… looks like an incoming webhook (--slack-test posts a test message)",
        ),
        (
            "https://hooks.slack.com/triggers/slack-secret-part",
            False,
            "✗ Slack: https://hooks.slack.com/… is not a Slack incoming webhook URL "
            "(those start hooks.slack.com/services/T…/B…/); --slack-test checks an endpoint of another shape",
        ),
        (
            "hooks.slack.com/services/slack-secret-part",
            False,
            "✗ Slack: SLACK_INCOMING_WEBHOOK_URL must be an http(s) URL of a Slack incoming webhook",
        ),
    ],
)
def test_the_slack_url_shape_is_checked_without_posting(capsys, url, ok, expected):
    code, lines = doctor(capsys, {"SLACK_INCOMING_WEBHOOK_URL": url})

    assert (code, lines) == (0 if ok else 1, [expected])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, "does not know this webhook: it was removed or the URL is mistyped (HTTP 404: 'service unavailable')"),
        (403, "refused the webhook's token: it was revoked or the URL is mistyped; create a new incoming webhook"),
        (410, "says the webhook's channel is archived"),
    ],
)
def test_a_slack_test_message_refused_is_said_in_plain_words(capsys, slack, status, expected):
    slack.fail_status = status

    code, lines = doctor(capsys, slack_config(slack), "--slack-test")

    assert code == 1
    [line] = lines
    assert line.startswith(f"✗ Slack: http://127.0.0.1:{slack.port}/… {expected}")


def test_only_what_is_set_is_checked_and_nothing_set_fails(capsys, webhook):
    code, lines = doctor(capsys, webhook_config(webhook))
    assert code == 0 and len(lines) == 1 and lines[0].startswith("✓ Webhook:")

    code, lines = doctor(capsys, {})
    assert code == 1
    assert lines == [
        "✗ Nothing to check: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, WEBHOOK_URL, "
        "SLACK_INCOMING_WEBHOOK_URL, or ROUTES_FILE"
    ]


def test_the_command_takes_flags_over_the_environment_and_prints_no_traceback(tenant, webhook):
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "WEBHOOK_", "SLACK_"))},
        **auth0_config(tenant),
        "AUTH0_DOMAIN": "http://127.0.0.1:9/",  # the flag below points at the real tenant
        "WEBHOOK_AUTHORIZATION": "Bearer wrong-s3cr3t",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "auth0_webhooks.ops",
            "doctor",
            "--auth0-domain",
            tenant.url,
            "--webhook-url",
            f"{webhook.url}/hook",
            "--allow-insecure-webhook",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ Auth0: client local-client got a token")
    assert lines[1] == (
        f"✗ Webhook: http://127.0.0.1:{webhook.port}/… refused the credentials (HTTP 401): check WEBHOOK_AUTHORIZATION"
    )
    assert "s3cr3t" not in result.stdout and CLIENT_SECRET not in result.stdout
    assert json.loads(webhook.deliveries[0].request.body) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"WEBHOOK_AUTHORIZATION": "Bearer €uro-s3cr3t"},
            "✗ Webhook: WEBHOOK_AUTHORIZATION must be a value an HTTP header can carry",
        ),
        (
            {"WEBHOOK_AUTHORIZATION": "Bearer \u201cs3cr3t\u201d"},  # curly quotes pasted from a document
            "✗ Webhook: WEBHOOK_AUTHORIZATION must be a value an HTTP header can carry",
        ),
        ({"WEBHOOK_URL": "https://hooks.example.com:99999/x?token=url-secret"}, "✗ Webhook: WEBHOOK_URL must be"),
        ({"WEBHOOK_URL": "https://[::1/x?token=url-secret"}, "✗ Webhook: WEBHOOK_URL must be"),
        ({"WEBHOOK_CONCURRENT_CALLS": "١٠"}, "✗ Webhook: WEBHOOK_CONCURRENT_CALLS must be a whole number"),  # noqa: RUF001  # Arabic-Indic 10
        (
            {"AUTH0_DOMAIN": "https://admin:do-not-log@example.eu.auth0.com", "AUTH0_CLIENT_ID": "c"},
            "✗ Auth0: AUTH0_DOMAIN must be a tenant domain without user:password@",
        ),
    ],
)
def test_settings_http_cannot_carry_are_explained_without_a_traceback(capsys, config, expected):
    environ = {"WEBHOOK_URL": "https://hooks.example.com/x", "AUTH0_CLIENT_SECRET": CLIENT_SECRET, **config}
    if "AUTH0_DOMAIN" not in config:
        del environ["AUTH0_CLIENT_SECRET"]
    else:
        del environ["WEBHOOK_URL"]

    code, lines = doctor(capsys, environ)

    assert code == 1
    [line] = lines
    assert line.startswith(expected)


SHIPPED_ROUTES = ROOT / "config" / "routes.yaml"
GOOD_ROUTES = (
    "routes:\n"
    "  - id: siem\n    match: {types: [s, brand_new]}\n"
    "    destination: {type: webhook, url: 'https://siem.example/in', signing_secret: auth0-webhooks/siem}\n"
    "  - id: bus\n    destination: {type: eventbridge, bus: auth0}\n"
)


def test_the_routes_file_is_checked_one_line_per_route_problem(capsys, tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(GOOD_ROUTES)

    code, lines = doctor(capsys, {"ROUTES_FILE": str(path), "STACK_NAME": "auth0-webhooks"})

    assert code == 0
    assert lines == [
        f"✓ Routes: {path}: OK, 2 routes: siem (webhook), bus (eventbridge)",
        f"✓ Routes: {path}: warning: route siem: match.types: brand_new: not in the log type table (kept as given)",
    ]


def test_a_bad_routes_file_fails_with_a_line_per_error_in_plain_words(capsys, tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n  - id: siem\n    colour: red\n"
        "    destination: {type: webhook, url: 'https://siem.example/in', signing_secret: other/siem}\n"
    )

    code, lines = doctor(capsys, {"ROUTES_FILE": str(path), "STACK_NAME": "auth0-webhooks"})
    without_stack, _ = doctor(capsys, {"ROUTES_FILE": str(path)})

    assert code == 1 and without_stack == 1
    assert lines == [
        f"✗ Routes: {path}: route siem: colour: unknown field; allowed: description, destination, id, match, pii",
        f"✗ Routes: {path}: route siem: destination.signing_secret: must name a secret under this stack's prefix "
        "(auth0-webhooks/ in Secrets Manager, /auth0-webhooks/ in SSM): the functions may read no other; "
        "got 'other/siem'",
    ]


def test_a_missing_routes_file_and_one_of_only_comments(capsys, tmp_path):
    comments = tmp_path / "comments.yaml"
    comments.write_text("# routes:\n#   - id: siem\n")

    missing, missing_lines = doctor(capsys, {"ROUTES_FILE": str(tmp_path / "nowhere.yaml")})
    empty, empty_lines = doctor(capsys, {"ROUTES_FILE": str(comments)})

    assert missing == 1
    assert missing_lines == [f"✗ Routes: {tmp_path / 'nowhere.yaml'}: cannot be read (No such file or directory)"]
    assert empty == 0
    assert empty_lines == [
        f"✓ Routes: {comments}: OK, holds no routes (only comments): the stack's webhook settings make the one "
        "route default"
    ]


def test_the_command_checks_the_routes_beside_the_webhook_without_a_traceback(tmp_path, webhook):
    path = tmp_path / "routes.yaml"
    path.write_text("routes:\n  - id: Bad Id\n    destination: {type: eventbridge, bus: b}\n  - {id: x}\n")
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "WEBHOOK_", "SLACK_", "ROUTES_"))},
        **webhook_config(webhook),
    }
    run = [sys.executable, "-m", "auth0_webhooks.ops", "doctor", "--routes-file", str(path), "--stack", "s"]

    result = subprocess.run(run, env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    shipped = subprocess.run(
        [*run[:-4], "--routes-file", str(SHIPPED_ROUTES), "--stack", "auth0-webhooks"],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ Webhook:")
    assert lines[1:] == [
        f"✗ Routes: {path}: route Bad Id: id: must be lower-case letters, digits and -; unique.; got 'Bad Id'",
        f"✗ Routes: {path}: route x: destination: is required",
    ]
    assert shipped.returncode == 0, shipped.stdout
    assert shipped.stdout.splitlines()[1].startswith(f"✓ Routes: {SHIPPED_ROUTES}: OK, ")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("read:logs read:users", "✓ Notifications: the application may look users up (read:users), for routes pw"),
        ("read:logs", "✗ Notifications: the application lacks the read:users scope that routes pw need: grant it"),
    ],
)
def test_with_notification_routes_the_read_users_scope_is_checked(capsys, tmp_path, scope, expected):
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - id: pw\n    destination: {type: email, template: password-changed, from: a@b.c}\n")
    (tmp_path / "templates").symlink_to(Path(__file__).resolve().parents[2] / "config" / "templates")
    with LocalTenant(scope=scope) as tenant:
        code, lines = doctor(capsys, {**auth0_config(tenant), "ROUTES_FILE": str(routes)})

    assert code == (0 if "users" in scope else 1)
    assert lines[0].startswith("✓ Auth0:")
    assert next(line for line in lines if "Notifications" in line).startswith(expected)
