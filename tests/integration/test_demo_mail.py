"""The demo's notification route through the deliverer: the factory's users have profiles, moto's SES
keeps the mails, and the last few are written as HTML files."""

from __future__ import annotations

from pathlib import Path

import yaml

from devkit.demo import mail
from devkit.logs import LogFactory
from devkit.tenant import LocalTenant
from tests.conftest import set_environ
from tests.integration.test_deliverer_routes import enqueue_route, run_until_settled

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_routes_mail_the_factory_users_and_the_last_mails_are_written_as_html(
    stack, moto, tmp_path, monkeypatch, cold_powertools
):
    factory = LogFactory(seed=70)
    verified = factory.users[1]  # user1@example.com (every tenth address is unverified)
    logs = [factory.make("scp", user_id=verified), factory.make("limit_wc", user_id=verified)]
    mail.verify_sender(stack.client("sesv2"))
    routes_file = tmp_path / "routes.yaml"
    routes_file.write_text(yaml.safe_dump({"version": 1, "routes": mail.routes()}))
    before = len(mail.sent_mails(moto.url))
    with LocalTenant(scope="read:logs read:users") as tenant:
        tenant.add_users(factory.profiles())
        values = {
            "ROUTES_FILE": str(routes_file),
            "TEMPLATES_DIR": str(ROOT / "config" / "templates"),
            "AUTH0_DOMAIN": tenant.url,
            "AUTH0_CLIENT_ID": "local-client",
            "AUTH0_CLIENT_SECRET": "local-secret-do-not-log",
            **stack.environ(),
        }
        set_environ(monkeypatch, values, ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION"))
        enqueue_route(stack, "notify-password-changed", logs[:1])
        enqueue_route(stack, "notify-account-blocked", logs[1:])
        run_until_settled(stack)

    sent = mail.sent_mails(moto.url)[before:]
    # the two routes' records are delivered at once: the mails come in either order
    assert [m.to for m in sent] == ["user1@example.com"] * 2
    subjects = sorted(m.subject for m in sent)
    assert "Your password was changed" in subjects and any("blocked" in subject.lower() for subject in subjects)
    written = mail.write_last(sent, tmp_path / ".demo" / "mails", count=5)
    assert [p.name for p in written] == ["mail-1.html", "mail-2.html"]
    assert "<b>To:</b> user1@example.com" in written[0].read_text()
