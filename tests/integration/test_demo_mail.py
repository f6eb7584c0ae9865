"""The demo's notification routes through the deliverer: the factory's users have profiles, moto's SES
keeps the mails, the last few are written as HTML files, and the mail report accounts for every log."""

from __future__ import annotations

from pathlib import Path

import requests
import yaml
from auth0_webhooks.settings import parse_domain

from devkit.aws import Stack
from devkit.demo import mail
from devkit.logs import LogFactory
from devkit.tenant import LocalTenant, TokenBucket
from tests.conftest import set_environ
from tests.integration.test_deliverer_routes import enqueue_route, run_until_settled


def test_the_demo_routes_mail_the_factory_users_and_the_last_mails_are_written_as_html(
    stack, moto, tmp_path, monkeypatch, cold_powertools
):
    factory = LogFactory(seed=70)
    verified = factory.users[1]  # user1@example.com (every tenth address is unverified)
    logs = [factory.make("scp", user_id=verified), factory.make("limit_wc", user_id=verified)]
    by_route = {"notify-password-changed": logs[:1], "notify-account-blocked": logs[1:]}
    sent, _ = deliver(stack, moto, tmp_path, monkeypatch, factory, by_route)

    # the two routes' records are delivered at once: the mails come in either order
    assert [m.to for m in sent] == ["user1@example.com"] * 2
    subjects = sorted(m.subject for m in sent)
    assert "Your password was changed" in subjects and any("blocked" in subject.lower() for subject in subjects)
    folder = tmp_path / ".demo" / "mails"
    written = mail.write_last(sent, folder, count=5)
    assert [p.name for p in written] == ["mail-1.html", "mail-2.html"]
    assert "<b>To:</b> user1@example.com" in written[0].read_text()
    mail.write_last(sent, folder, count=1)  # a later run with fewer mails: the earlier run's files go
    assert sorted(p.name for p in folder.iterdir()) == ["mail-1.html"]


def deliver(stack: Stack, moto, tmp_path: Path, monkeypatch, factory: LogFactory, by_route: dict[str, list[dict]]):
    """The demo's notification routes deliver ``by_route``'s logs through the deliverer; the mails SES got, and
    the tenant's domain as the deliverer names it."""
    mail.verify_sender(stack.client("sesv2"))
    routes_file = tmp_path / "routes.yaml"
    routes_file.write_text(yaml.safe_dump({"version": 1, "routes": mail.routes()}))
    before = len(mail.sent_mails(moto.url))
    with LocalTenant(scope="read:logs read:users") as tenant:
        tenant.add_users(factory.profiles())
        values = {
            "ROUTES_FILE": str(routes_file),
            "TEMPLATES_DIR": str(mail.TEMPLATES),
            "AUTH0_DOMAIN": tenant.url,
            "AUTH0_CLIENT_ID": "local-client",
            "AUTH0_CLIENT_SECRET": "local-secret-do-not-log",
            **stack.environ(),
        }
        set_environ(monkeypatch, values, ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION"))
        for route, logs in by_route.items():
            enqueue_route(stack, route, logs)
        run_until_settled(stack)
        domain = parse_domain(tenant.url)[1]
    return mail.sent_mails(moto.url)[before:], domain


def test_the_mail_report_accounts_for_every_matching_log_and_checks_each_sent_one_has_its_mail(
    stack, moto, tmp_path, monkeypatch, cold_powertools
):
    factory = LogFactory(seed=71)
    verified, unverified = factory.users[3], factory.users[10]  # every tenth address is unverified
    mailed = [factory.make("scp", user_id=verified), factory.make("limit_wc", user_id=verified)]
    skipped = factory.make("scp", user_id=unverified)
    lost = factory.make("scp", user_id=verified)  # produced, never queued: the report must miss it
    dead = factory.make("limit_wc", user_id=verified)  # never queued, but "in the DLQ" with its route
    other = factory.make("s", user_id=verified)  # no notification route takes a successful login
    sent, domain = deliver(
        stack,
        moto,
        tmp_path,
        monkeypatch,
        factory,
        {"notify-password-changed": [mailed[0], skipped], "notify-account-blocked": [mailed[1]]},
    )
    data = {"version": 1, "routes": mail.routes()}
    produced = [*mailed, skipped, lost, dead, other]
    dead_letters = {"notify-account-blocked": {dead["log_id"]}}

    report = mail.mail_report(data, stack, produced, dead_letters, sent, factory.profiles(), domain)

    assert report["sent"] == 2 and report["unexpected"] == 0
    changed, blocked = report["routes"]["notify-password-changed"], report["routes"]["notify-account-blocked"]
    assert changed["log_ids"] == {
        "sent": [mailed[0]["log_id"]],
        "skipped": [skipped["log_id"]],
        "missing": [lost["log_id"]],
    }
    assert (changed["matched"], changed["sent"], changed["mails"], changed["skipped"]) == (3, 1, 1, 1)
    assert changed["missing"] == [lost["log_id"]] and changed["duplicates"] == 0
    assert blocked["log_ids"] == {"sent": [mailed[1]["log_id"]], "dead_lettered": [dead["log_id"]]}
    assert (blocked["matched"], blocked["mails"], blocked["dead_lettered"], blocked["missing"]) == (2, 1, 1, [])

    # a mail twice is a duplicate; a mail for nobody's log is unexpected; a sent log without its mail shows
    twice = mail.mail_report(data, stack, produced, dead_letters, [*sent, sent[0]], factory.profiles(), domain)
    assert sum(route["duplicates"] for route in twice["routes"].values()) == 1
    stray = mail.Mail("user3@example.com", sent[0].subject, "<p>another body</p>")
    wrong = mail.mail_report(data, stack, produced, dead_letters, [sent[0], stray], factory.profiles(), domain)
    assert wrong["unexpected"] == 1
    assert sum(route["sent"] - route["mails"] for route in wrong["routes"].values()) == 1


def test_the_tenant_can_give_user_look_ups_their_own_rate_limit_as_paid_plans_do():
    factory = LogFactory(seed=72)
    user = factory.users[1]
    shared, own = TokenBucket(burst=1, rate=0.001), TokenBucket(burst=2, rate=0.001)
    with LocalTenant(scope="read:logs read:users", bucket=shared, users_bucket=own) as tenant:
        tenant.add_users(factory.profiles())
        host = tenant.url.split("://", 1)[1]
        token = requests.post(
            f"{tenant.url}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": "local-client",
                "client_secret": "local-secret-do-not-log",
                "audience": f"https://{host}/api/v2/",
            },
            timeout=5,
        ).json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}

        def get(path: str) -> int:
            return requests.get(f"{tenant.url}{path}", headers=headers, timeout=5).status_code

        # the log reads spend their one token; the look-ups still have two of their own, then are limited too
        assert [get("/api/v2/logs"), get("/api/v2/logs")] == [200, 429]
        assert [get(f"/api/v2/users/{user}") for _ in range(3)] == [200, 200, 429]
