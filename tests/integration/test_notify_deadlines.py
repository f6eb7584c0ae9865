"""The notification ledger starts no DynamoDB call without the time to finish it, and nothing is
sent that there is no time to record. The time left is injected: it moves with what happened
(a mail SES accepted), never with the wall clock. moto's DynamoDB and SES, the local tenant's users.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from auth0_webhooks import clients
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.budget import OutOfTime
from auth0_webhooks.env import Secret
from auth0_webhooks.notify.destinations import EmailDestination
from auth0_webhooks.notify.ledger import CALL_SECONDS, Ledger
from auth0_webhooks.notify.notifier import MIN_SECONDS_LEFT, NO_TIME_TO_RECORD, SEND_AND_RECORD_SECONDS, Notifier
from auth0_webhooks.notify.recipients import UserDirectory
from auth0_webhooks.notify.sender import NotifyParts, NotifySender
from auth0_webhooks.notify.ses import SesMailer
from auth0_webhooks.notify.templates import TemplateStore
from auth0_webhooks.settings import Auth0Settings, parse_domain

from devkit.aws import MotoServer, Stack
from devkit.tenant import LocalTenant
from tests.notify_samples import log

ROOT = Path(__file__).resolve().parents[2]
SENDER = "Acme Security <security@acme.test>"
SHORT = (MIN_SECONDS_LEFT + SEND_AND_RECORD_SECONDS) / 2  # time to claim and look up, not to send and record


class World:
    def __init__(self, moto: MotoServer, stack: Stack, tenant: LocalTenant, ana: str) -> None:
        self.moto, self.stack, self.tenant, self.ana = moto, stack, tenant, ana

    def parts(self) -> NotifyParts:
        base_url, domain = parse_domain(self.tenant.url)
        source = Auth0LogSource(Auth0Settings(base_url, domain, "local-client", Secret("local-secret-do-not-log")))
        session = requests.Session()
        users = UserDirectory(base_url, lambda: source.token(lambda: 10.0), session)
        ledger = Ledger(clients.dynamodb_within_deadline(), self.stack.table)
        return NotifyParts(TemplateStore(ROOT / "config" / "templates"), users, ledger, session, SesMailer(), "Acme")

    def notifier(self) -> Notifier:
        p = self.parts()
        routes = {"pw": EmailDestination("password-changed", SENDER)}
        return Notifier(routes, p.templates, p.users, p.ledger, p.session, p.mailer, p.tenant)

    def mails(self) -> list[dict[str, Any]]:
        data = requests.get(f"{self.moto.url}/moto-api/data.json", timeout=10).json()
        return [m for m in data["ses"]["Message"] if self.ana in m["destinations"]["ToAddresses"]]

    def record(self, log_id: str) -> dict[str, Any]:
        key = {"pk": {"S": f"notify#pw#{log_id}"}}
        item: dict[str, Any] = self.stack.client("dynamodb").get_item(TableName=self.stack.table, Key=key)
        return item.get("Item", {})


@pytest.fixture
def world(moto: MotoServer, stack: Stack) -> Iterator[World]:
    ana = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    stack.client("sesv2").create_email_identity(EmailIdentity="security@acme.test")
    with LocalTenant(scope="read:logs read:users") as tenant:
        tenant.add_users([{"user_id": "auth0|ana", "email": ana, "email_verified": True, "name": "Ana Silva"}])
        yield World(moto, stack, tenant, ana)


def scp(log_id: str) -> dict[str, Any]:
    return log(log_id, "scp", user_id="auth0|ana")


def test_no_mail_is_sent_that_there_is_no_time_to_record_and_the_log_can_be_claimed_again(world):
    notifier = world.notifier()

    outcome = notifier.notify("pw", scp("9101"), lambda: SHORT)

    assert (outcome.status, outcome.reason, outcome.shortfall) == ("retry", NO_TIME_TO_RECORD, True)
    assert world.mails() == [] and world.record("9101") == {}  # nothing sent; the claim released
    assert notifier.notify("pw", scp("9101"), lambda: 60.0).status == "sent"  # the retry, with time
    assert len(world.mails()) == 1


def test_a_record_there_is_no_time_to_finish_is_a_warning_and_waits_for_its_lease(world, caplog):
    notifier = world.notifier()

    def time_left() -> float:  # plenty until SES accepted the mail, then too little for the record
        return 60.0 if not world.mails() else CALL_SECONDS - 1.0

    with caplog.at_level(logging.WARNING):
        outcome = notifier.notify("pw", scp("9102"), time_left)

    assert (outcome.status, outcome.shortfall) == ("sent", True)
    assert len(world.mails()) == 1
    assert world.record("9102")["state"] == {"S": "sending"}  # its lease runs out: a retry may claim it then
    [warning] = [r for r in caplog.records if r.getMessage().startswith("notification record not updated")]
    assert warning.levelno == logging.WARNING and warning.__dict__["error"] == "OutOfTime"


def test_the_sender_counts_each_shortfall_once_for_the_deliverer_and_never_sends_without_time(world):
    parts = world.parts()
    sender = NotifySender("pw", "email", EmailDestination("password-changed", SENDER), lambda: parts)

    [(_, outcome)] = sender.send([scp("9103")], SHORT)

    assert outcome.retryable and not outcome.sent  # not an attempt: it comes back without nearing the DLQ
    assert sender.take_shortfalls() == 1 and sender.take_shortfalls() == 0
    assert world.mails() == []


def test_no_ledger_call_starts_without_the_margin(world):
    ledger = world.parts().ledger
    with pytest.raises(OutOfTime, match=r"route pw: claiming the notification of log 9104: .* needed"):
        ledger.claim("pw", "9104", lambda: CALL_SECONDS - 0.1)
    assert world.record("9104") == {}
