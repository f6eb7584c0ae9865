"""Notifications and Auth0's trouble: a user look-up's 429 delays a mail and never drops it, never spends a
delivery attempt and never pauses the route; SES's own refusals do pause it, and the alert names SES.

The deliverer's handler with the local tenant (its faults answer the look-ups 429), moto's SQS, DynamoDB
and SES, a local Slack. A waiting log comes back after the look-up's reset (1 s here, the floor): the
drive waits for delayed messages to become visible, a bound on rounds, never an assertion on time.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
from auth0_webhooks.notify.ledger import Ledger

from devkit.aws import MotoServer, Stack
from devkit.receivers import SlackReceiver
from devkit.tenant import LocalTenant
from functions.deliverer.app import lambda_handler
from tests.integration import test_deliverer_notify as notify_tests
from tests.integration.deliverer_helpers import dead_letters, source
from tests.integration.test_deliverer_routes import enqueue_route, write_routes
from tests.notify_samples import log

PASSWORD_CHANGED, SENDER, mails_to = notify_tests.PASSWORD_CHANGED, notify_tests.SENDER, notify_tests.mails_to
# the same tenant, users and settings as the other notification tests
people, users_tenant, notify_env = notify_tests.people, notify_tests.users_tenant, notify_tests.notify_env
QUEUE_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


@pytest.fixture
def ids(users_tenant: LocalTenant, people: dict[str, str]) -> dict[str, str]:
    """This test's own users (ana and carol verified, bob not): user ids no earlier test's look-up cached."""
    tag = uuid.uuid4().hex[:8]
    found = {who: f"auth0|{who}-{tag}" for who in people}
    users_tenant.add_users(
        [
            {"user_id": found[who], "email": people[who], "email_verified": who != "bob", "name": who.title()}
            for who in people
        ]
    )
    return found


def queued(stack: Stack) -> int:
    """Messages in the queue: visible, in flight and delayed."""
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=QUEUE_COUNTS)
    return sum(int(value) for value in attributes["Attributes"].values())


def drive_until_empty(stack: Stack, rounds: int = 200) -> int:
    """Invoke, hand failed records back and wait for delayed ones, until the queue is empty; the invocations."""
    events, invocations = source(stack), 0
    for _ in range(rounds):
        handed, _ = events.poll_once(lambda_handler)
        invocations += handed > 0
        events.release_failed()
        if queued(stack) == 0:
            return invocations
        if handed == 0:
            threading.Event().wait(0.1)  # a held copy is delayed by the look-up's reset: wait for it to show
    raise AssertionError("the queue never emptied")


def ledger_state(stack: Stack, route: str, log_id: str) -> str:
    table = stack.environ()["CHECKPOINT_TABLE"]
    item = stack.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": Ledger.key(route, log_id)}}, ConsistentRead=True
    )
    return str(item.get("Item", {}).get("state", {}).get("S", ""))


def slack_texts(slack: SlackReceiver) -> str:
    return json.dumps(slack.payloads)


def test_a_look_up_rate_limited_longer_than_max_receive_count_delays_the_mails_and_never_dead_letters_them(
    notify_env,
    stack: Stack,
    moto: MotoServer,
    people,
    ids,
    users_tenant: LocalTenant,
    slack: SlackReceiver,
    monkeypatch,
):
    monkeypatch.setenv("BREAKER_FAILURES", "2")  # a look-up's 429 counted as SES's failure would pause the route
    write_routes(notify_env, PASSWORD_CHANGED)
    # 16 look-ups answered 429: an invocation looks up at most the record's 4 logs, so each of the first 4
    # invocations finds every look-up refused: every log waits 4 times, more than MAX_RECEIVE_COUNT (3)
    users_tenant.faults.throttle = 16
    users_tenant.faults.throttle_reset = "0"  # a reset already passed: the wait is the floor, 1 s
    logs = [
        log("9701", "scp", user_id=ids["ana"]),
        log("9702", "scp", user_id=ids["carol"]),
        log("9703", "scp", user_id=ids["ana"]),
        log("9704", "scp", user_id=ids["bob"]),  # bob's address is not verified: skipped, not mailed
    ]
    enqueue_route(stack, "pw", logs)  # one record with all four

    invocations = drive_until_empty(stack)

    assert users_tenant.faults.throttle == 0 and invocations >= 5  # every 429 was answered; 4 waits, then mail
    mailed = sorted(address for m in mails_to(moto, people) for address in m["destinations"]["ToAddresses"])
    assert mailed == sorted([people["ana"], people["ana"], people["carol"]])  # one mail per log, none twice
    assert {log_id: ledger_state(stack, "pw", log_id) for log_id in ("9701", "9702", "9703", "9704")} == {
        "9701": "sent",
        "9702": "sent",
        "9703": "sent",
        "9704": "skipped",
    }
    assert dead_letters(stack) == []
    assert "paused" not in slack_texts(slack)  # Auth0's 429s said nothing of SES


def test_a_waiting_log_is_put_back_alone_with_its_attempts_and_the_mailed_one_is_not_mailed_again(
    notify_env, stack: Stack, moto: MotoServer, people, ids, users_tenant: LocalTenant
):
    write_routes(notify_env, PASSWORD_CHANGED)
    users_tenant.faults.throttle_after = 1
    users_tenant.faults.throttle = 1
    users_tenant.faults.throttle_reset = "0"
    enqueue_route(stack, "pw", [log("9801", "scp", user_id=ids["ana"]), log("9802", "scp", user_id=ids["carol"])])

    assert source(stack).poll_once(lambda_handler) == (1, 0)  # the record succeeded: its waiting log was put back

    copy: list[dict] = []
    for _ in range(300):  # delayed 1 s by the look-up's reset: wait for it to become visible (a bound, not a race)
        copy = stack.drain()
        if copy:
            break
        threading.Event().wait(0.1)
    [message] = copy
    [[mailed]] = [m["destinations"]["ToAddresses"] for m in mails_to(moto, people)]  # whichever was looked up first
    waited = "9802" if mailed == people["ana"] else "9801"
    assert [entry["log_id"] for entry in json.loads(message["Body"])] == [waited]  # only the log that waited
    assert message["MessageAttributes"]["attempts"]["StringValue"] == "0"  # the wait was no attempt
    assert message["MessageAttributes"]["route"]["StringValue"] == "pw"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ses_failing_pauses_an_email_route_and_the_alert_names_ses_and_its_error(
    notify_env, stack: Stack, moto: MotoServer, people, ids, slack: SlackReceiver, monkeypatch
):
    monkeypatch.setenv("BREAKER_FAILURES", "2")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{closed_port()}")  # SES unreachable
    write_routes(notify_env, PASSWORD_CHANGED)
    enqueue_route(stack, "pw", [log(f"99{n:02d}", "scp", user_id=ids["ana"]) for n in range(4)], per_message=1)

    source(stack).poll_once(lambda_handler)

    text = slack_texts(slack)
    assert "Route pw paused" in text
    assert "SES unreachable: EndpointConnectionError" in text and "SES as Acme Security" in text
    assert "template" not in text and "no answer" not in text
    assert SENDER.split("<")[1].rstrip(">") in text
    assert dead_letters(stack) == []  # the failed logs wait for the probe or retry
    assert mails_to(moto, people) == []


def test_look_ups_rate_limited_on_every_record_neither_fail_the_records_nor_pause_the_route(
    notify_env,
    stack: Stack,
    moto: MotoServer,
    people,
    ids,
    users_tenant: LocalTenant,
    slack: SlackReceiver,
    monkeypatch,
):
    monkeypatch.setenv("BREAKER_FAILURES", "2")
    write_routes(notify_env, PASSWORD_CHANGED)
    users_tenant.faults.throttle = 100  # every look-up of this invocation answers 429
    users_tenant.faults.throttle_reset = "0"
    enqueue_route(stack, "pw", [log(f"98{n:02d}", "scp", user_id=ids["ana"]) for n in range(4)], per_message=1)

    assert source(stack).poll_once(lambda_handler) == (4, 0)  # each record's log was put back to wait

    assert "paused" not in slack_texts(slack)
    assert mails_to(moto, people) == [] and dead_letters(stack) == []
    assert (
        stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
        == "4"
    )


def published(out: str) -> dict[str, float]:
    """The metrics the handler's EMF lines put to CloudWatch, summed by name."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[metric["Name"]] = found.get(metric["Name"], 0.0) + sum(document[metric["Name"]])
    return found


def test_notifications_sent_skipped_delayed_and_failed_are_published_to_cloudwatch(
    notify_env, stack: Stack, people, ids, users_tenant: LocalTenant, capsys
):
    write_routes(notify_env, PASSWORD_CHANGED)
    enqueue_route(stack, "pw", [log("9601", "scp", user_id=ids["ana"]), log("9602", "scp", user_id=ids["bob"])])
    events = source(stack)
    events.poll_once(lambda_handler)
    first = published(capsys.readouterr().out)

    users_tenant.faults.throttle = 1
    enqueue_route(stack, "pw", [log("9603", "scp", user_id=ids["carol"])])
    events.poll_once(lambda_handler)
    second = published(capsys.readouterr().out)

    assert (first["NotificationsSent"], first["NotificationsSkipped"]) == (1, 1)  # ana mailed, bob unverified
    assert second["NotificationsDelayed"] == 1 and "NotificationsSent" not in second
    assert dead_letters(stack) == []


def test_a_failed_notification_is_published_to_cloudwatch_and_dead_lettered(
    notify_env, stack: Stack, ids, users_tenant: LocalTenant, capsys
):
    users_tenant.scope = "read:logs"  # the application was not given read:users: look-ups are refused for good
    write_routes(notify_env, PASSWORD_CHANGED)
    enqueue_route(stack, "pw", [log("9604", "scp", user_id=ids["carol"])])

    source(stack).poll_once(lambda_handler)

    assert published(capsys.readouterr().out)["NotificationsFailed"] == 1
    assert [entry["log_id"] for message in dead_letters(stack) for entry in json.loads(message["Body"])] == ["9604"]
