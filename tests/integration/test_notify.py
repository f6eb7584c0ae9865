"""Notifications end to end: the local tenant's users, moto's DynamoDB and SES, a local Slack.

Each test has its own addresses (moto keeps every message of the session), its own table and
an injected clock; nothing waits on the wall clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.env import Secret
from auth0_webhooks.notify.destinations import EmailDestination, SlackDestination
from auth0_webhooks.notify.ledger import Ledger, LedgerPolicy
from auth0_webhooks.notify.notifier import Notifier
from auth0_webhooks.notify.recipients import LookupPolicy, UserDirectory
from auth0_webhooks.notify.templates import TemplateStore
from auth0_webhooks.settings import Auth0Settings, parse_domain

from devkit.aws import MotoServer, Stack
from devkit.receivers import SlackReceiver
from devkit.tenant import LocalTenant, TokenBucket
from tests.notify_samples import log

ROOT = Path(__file__).resolve().parents[2]
SENDER = "Acme Security <security@acme.test>"


def plenty() -> float:  # time_left() of an invocation with a minute to go
    return 60.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    tenant: LocalTenant
    stack: Stack
    moto: MotoServer
    clock: Clock
    ana: str  # verified
    bob: str  # not verified
    carol: str  # verified; her address is typed into someone else's failed login

    def notifier(self, routes: dict[str, Any] | None = None, policy: LedgerPolicy | None = None) -> Notifier:
        """A fresh notifier, as a new Lambda container would build it (empty cache)."""
        base_url, domain = parse_domain(self.tenant.url)
        source = Auth0LogSource(Auth0Settings(base_url, domain, "local-client", Secret("local-secret-do-not-log")))
        session = requests.Session()
        users = UserDirectory(base_url, lambda: source.token(lambda: 10.0), session, LookupPolicy(), self.clock)
        ledger = Ledger(self.stack.client("dynamodb"), self.stack.table, policy or LedgerPolicy(), self.clock)
        destinations = routes or {"pw": EmailDestination("password-changed", SENDER)}
        return Notifier(
            destinations, TemplateStore(ROOT / "config" / "templates"), users, ledger, session, tenant="Acme"
        )

    def mails(self) -> list[dict[str, Any]]:
        """What moto's SES sent to this test's people."""
        data = requests.get(f"{self.moto.url}/moto-api/data.json", timeout=10).json()
        ours = {self.ana, self.bob, self.carol}
        return [m for m in data["ses"]["Message"] if set(m["destinations"]["ToAddresses"]) & ours]

    def mailed_to(self) -> list[str]:
        return sorted(address for m in self.mails() for address in m["destinations"]["ToAddresses"])


@pytest.fixture
def world(moto: MotoServer, stack: Stack) -> Iterator[World]:
    tag = uuid.uuid4().hex[:8]
    ana, bob, carol = (f"{who}-{tag}@example.com" for who in ("ana", "bob", "carol"))
    stack.client("sesv2").create_email_identity(EmailIdentity="security@acme.test")
    with LocalTenant(scope="read:logs read:users") as tenant:
        tenant.add_users(
            [
                {"user_id": "auth0|ana", "email": ana, "email_verified": True, "name": "Ana Silva", "nickname": "a"},
                {"user_id": "auth0|bob", "email": bob, "email_verified": False, "name": "Bob"},
                {"user_id": "auth0|carol", "email": carol, "email_verified": True, "name": "Carol"},
            ]
        )
        yield World(tenant, stack, moto, Clock(), ana, bob, carol)


def scp(log_id: str, user_id: str = "auth0|ana") -> dict[str, Any]:
    return log(log_id, "scp", user_id=user_id)


def test_the_seeds_case_one_password_change_one_mail_however_often_it_is_delivered(world):
    entry = scp("9001")
    first = world.notifier()
    outcomes = [first.notify("pw", entry, plenty).status for _ in range(3)]
    replay = world.notifier().notify("pw", entry, plenty)  # a redrive or a replay of the window, in a new container
    assert outcomes == ["sent", "duplicate", "duplicate"] and replay.status == "duplicate"
    (mail,) = world.mails()
    assert mail["destinations"]["ToAddresses"] == [world.ana] and mail["source"] == SENDER
    assert mail["subject"] == "Your password was changed"
    assert "Hi Ana Silva," in mail["body"] and f"The password of your account {world.ana} was changed." in mail["body"]


def test_look_ups_are_cached_until_they_expire(world):
    notifier = world.notifier()
    assert [notifier.notify("pw", scp(i), plenty).status for i in ("9001", "9002")] == ["sent", "sent"]
    assert world.tenant.user_requests == 1
    world.clock.now += LookupPolicy().cache_seconds + 1
    assert notifier.notify("pw", scp("9003"), plenty).status == "sent"
    assert world.tenant.user_requests == 2
    assert world.mailed_to() == [world.ana] * 3


def test_a_429_on_the_look_up_delays_the_mail_and_never_drops_it(world):
    world.tenant.bucket = TokenBucket(burst=1, rate=0.001)
    notifier = world.notifier()
    assert notifier.notify("pw", scp("9001"), plenty).status == "sent"
    limited = notifier.notify("pw", scp("9002", "auth0|carol"), plenty)
    assert limited.status == "wait" and "429" in limited.reason and limited.retry_after >= 1
    assert world.mailed_to() == [world.ana]
    world.tenant.bucket = TokenBucket(rate=None)  # the bucket refilled
    assert notifier.notify("pw", scp("9002", "auth0|carol"), plenty).status == "sent"  # the retry claims it again
    assert world.mailed_to() == [world.ana, world.carol]


def test_an_unverified_address_gets_no_mail_unless_the_route_says_so(world):
    notifier = world.notifier(
        {
            "pw": EmailDestination("password-changed", SENDER),
            "pw-any": EmailDestination("password-changed", SENDER, unverified_ok=True),
        }
    )
    skipped = notifier.notify("pw", scp("9001", "auth0|bob"), plenty)
    assert skipped.status == "skipped" and "not verified" in skipped.reason
    assert world.mailed_to() == []
    assert notifier.notify("pw-any", scp("9001", "auth0|bob"), plenty).status == "sent"
    assert world.mailed_to() == [world.bob]


def test_a_failed_login_never_mails_the_address_that_was_typed(world):
    notifier = world.notifier({"blocked": EmailDestination("account-blocked", SENDER)})
    typed = log("9001", "limit_wc", user_id="", user_name=world.carol)
    unknown = log("9002", "limit_wc", user_id="auth0|nobody", user_name=world.carol)
    outcomes = [notifier.notify("blocked", e, plenty) for e in (typed, unknown)]
    assert [o.status for o in outcomes] == ["skipped", "skipped"]
    assert "no user_id" in outcomes[0].reason and "404" in outcomes[1].reason
    assert world.mailed_to() == []
    ana = notifier.notify("blocked", log("9003", "limit_wc", user_id="auth0|ana", user_name=world.carol), plenty)
    assert ana.status == "sent" and world.mailed_to() == [world.ana]  # the profile's address, not the typed one


def test_the_per_recipient_limit_holds_back_a_storm_and_counts_it(world):
    notifier = world.notifier(policy=LedgerPolicy(per_recipient=2, window_seconds=3600))
    outcomes = [notifier.notify("pw", scp(f"90{i:02}"), plenty).status for i in range(5)]
    assert outcomes == ["sent", "sent", "held", "held", "held"]
    assert [notifier.notify("pw", scp(f"90{i:02}"), plenty).status for i in range(5)] == ["duplicate"] * 5
    world.clock.now += 3600
    assert notifier.notify("pw", scp("9100"), plenty).status == "sent"
    assert world.mailed_to() == [world.ana] * 3


def test_a_rejected_send_is_failed_with_its_reason_and_a_redrive_sends_it(world):
    notifier = world.notifier({"pw": EmailDestination("password-changed", "alerts@unverified.test")})
    failed = notifier.notify("pw", scp("9001"), plenty)
    assert failed.status == "failed" and failed.reason == "SES refused the message: MessageRejected"
    assert world.ana not in failed.reason and world.mailed_to() == []
    world.stack.client("sesv2").create_email_identity(EmailIdentity="alerts@unverified.test")
    assert notifier.notify("pw", scp("9001"), plenty).status == "sent"  # the record was released: no mail lost
    assert world.mailed_to() == [world.ana]


def test_a_send_in_progress_elsewhere_is_retried_and_a_dead_senders_lease_runs_out(world):
    notifier = world.notifier()
    claim = notifier.ledger.claim("pw", "9001")
    busy = notifier.notify("pw", scp("9001"), plenty)
    assert claim.status == "claimed" and busy.status == "retry" and busy.retry_after > 0
    world.clock.now += LedgerPolicy().lease_seconds + 1
    assert notifier.notify("pw", scp("9001"), plenty).status == "sent"
    assert notifier.ledger.finish("pw", "9001", claim, "sent") is False  # the dead sender's claim is gone


def test_no_work_starts_too_close_to_the_deadline(world):
    notifier = world.notifier()
    assert notifier.notify("pw", scp("9001"), time_left=lambda: 1.0).status == "retry"
    assert world.tenant.user_requests == 0 and world.mailed_to() == []
    assert notifier.notify("pw", scp("9001"), plenty).status == "sent"


def test_a_malformed_log_or_unknown_route_is_failed_not_crashed(world):
    notifier = world.notifier()
    no_id = notifier.notify("pw", {"type": "scp", "user_id": "auth0|ana"}, plenty)
    assert no_id.status == "failed" and no_id.reason == "malformed log: no log_id"
    assert notifier.notify("pw", ["not", "a", "log"], plenty).status == "failed"
    assert "no email or slack destination for route 'nope'" in notifier.notify("nope", scp("9001"), plenty).reason
    assert world.mailed_to() == []


def test_without_read_users_the_look_up_fails_naming_the_scope(world, tenant):
    world.tenant = tenant  # the default local tenant grants read:logs only
    tenant.add_users([{"user_id": "auth0|ana", "email": world.ana, "email_verified": True, "name": "Ana"}])
    outcome = world.notifier().notify("pw", scp("9001"), plenty)
    assert outcome.status == "failed" and "read:users" in outcome.reason
    assert world.mailed_to() == []


def test_slack_gets_one_escaped_message_per_event(world, slack: SlackReceiver):
    notifier = world.notifier({"sec": SlackDestination("security-alert", slack.url)})
    world.tenant.add_users(
        [
            {
                "user_id": "auth0|eve",
                "email": "eve@example.com",
                "email_verified": True,
                "name": "<!channel> <https://evil.example|click>",
            }
        ]
    )
    entry = log("9001", "limit_wc", user_id="auth0|eve")
    assert [notifier.notify("sec", entry, plenty).status for _ in range(2)] == ["sent", "duplicate"]
    (payload,) = slack.payloads
    assert payload["text"].startswith("*Blocked Account: eve@example.com*\nEvent: limit_wc (Blocked Account)")
    assert "User: &lt;!channel&gt; &lt;https://evil.example|click&gt; eve@example.com" in payload["text"]
    assert "<!channel>" not in payload["text"]


def test_slack_down_is_retried(world, slack: SlackReceiver):
    notifier = world.notifier({"sec": SlackDestination("security-alert", slack.url)})
    slack.fail_status = 503
    down = notifier.notify("sec", log("9001", "pwd_leak", user_id="auth0|ana"), plenty)
    assert down.status == "retry" and down.reason == "Slack answered 503" and slack.url not in down.reason
    assert down.answered  # Slack's own answer: the route's breaker counts it
    slack.fail_status = None
    assert notifier.notify("sec", log("9001", "pwd_leak", user_id="auth0|ana"), plenty).status == "sent"
    assert len(slack.payloads) == 1


def test_preview_renders_exactly_what_would_be_sent_and_sends_nothing(world):
    notifier = world.notifier()
    preview = notifier.preview("pw", scp("9001"))
    assert preview.would_send and preview.to == world.ana and preview.subject == "Your password was changed"
    assert preview.html.startswith("<!doctype html>") and "Hi Ana Silva," in preview.text
    assert world.mailed_to() == []
    assert notifier.notify("pw", scp("9001"), plenty).status == "sent"  # the preview claimed nothing
    (mail,) = world.mails()
    assert mail["body"] == preview.html and mail["subject"] == preview.subject
    unverified = notifier.preview("pw", scp("9002", "auth0|bob"))
    assert not unverified.would_send and "not verified" in unverified.reason


def test_without_its_table_the_ledger_puts_the_log_back_and_sends_nothing(world):
    notifier = world.notifier()
    notifier.ledger.table = "no-such-table"
    outcome = notifier.notify("pw", scp("9001"), plenty)
    assert outcome.status == "retry" and outcome.reason == "the ledger is unavailable: ResourceNotFoundException"
    assert not outcome.answered  # not the destination's: the route's breaker does not count it
    assert world.tenant.user_requests == 0 and world.mailed_to() == []
