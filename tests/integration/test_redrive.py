"""Replaying the dead-letter queue against moto's server; the deliverer then delivers what moved.

Every test asserts exactly which log ids moved to the queue and which stayed in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import boto3
import pytest
from auth0_webhooks.dead_letters import CONTENT_DEAD_LETTER, dead_letter_message
from auth0_webhooks.messages import Message, dumps, logs_message
from auth0_webhooks.ops.redrive import NO_REASON, Pacer, RedriveOptions, Redriver
from auth0_webhooks.queue import LogQueue

from devkit.aws import REGION, Stack
from devkit.event_source import SqsEventSource
from devkit.http import Reply
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy, sqs_action
from devkit.receivers import WebhookReceiver
from functions.deliverer.app import lambda_handler as deliver
from tests.conftest import ROOT, ids_of, set_environ

REFUSED = "webhook refused it: HTTP 404 Not Found"
GAVE_UP = "gave up after 5 attempts: HTTP 503 Service Unavailable"


def dead_letter(stack: Stack, logs: list[dict], reason: str, **extra: str) -> str:
    """A dead-letter message shaped as the deliverer makes one; its message id."""
    message = logs_message([dumps(e) for e in logs], logs)
    attributes = {**message.attributes, "content": CONTENT_DEAD_LETTER, "reason": reason, **extra}
    reply = stack.client("sqs").send_message(
        QueueUrl=stack.dead_letter_queue_url,
        MessageBody=message.body,
        MessageAttributes=Message(message.body, attributes).sqs_attributes(),
    )
    return reply["MessageId"]


def raw_dead_letter(stack: Stack, body: str, reason: str) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.dead_letter_queue_url,
        MessageBody=body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )


def options(stack: Stack, **changes) -> RedriveOptions:
    return RedriveOptions(
        stack.queue_url, stack.dead_letter_queue_url, **{"rate": 1000.0, "wait_seconds": 0, **changes}
    )


def redrive(stack: Stack, **changes):
    return Redriver(stack.client("sqs"), options(stack, **changes)).run()


def contents(stack: Stack, url: str) -> list[dict]:
    """Take every message off a queue: (body as text, attributes as name → value)."""
    return [
        {
            "body": m["Body"],
            "attributes": {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()},
        }
        for m in stack.drain(url)
    ]


def log_ids(messages: list[dict]) -> list[str]:
    ids = []
    for message in messages:
        value = json.loads(message["body"])
        ids += [e["log_id"] for e in (value if isinstance(value, list) else [value])]
    return sorted(ids)


def test_every_dead_lettered_log_moves_and_starts_fresh(stack):
    factory = LogFactory(seed=1)
    refused, gave_up = factory.many(7), factory.many(12)
    dead_letter(stack, refused, REFUSED, status="404", attempts="1")
    dead_letter(stack, gave_up, GAVE_UP, status="503", attempts="5")

    report = redrive(stack)

    assert report.moved_log_ids == ids_of(refused + gave_up)
    assert report.by_reason() == {REFUSED: (1, 7), GAVE_UP: (1, 12)}
    assert report.skipped == [] and report.error is None
    assert contents(stack, stack.dead_letter_queue_url) == []
    moved = contents(stack, stack.queue_url)
    assert log_ids(moved) == ids_of(refused + gave_up)
    by_first = {m["attributes"]["first_log_id"]: m for m in moved}
    first = by_first[refused[0]["log_id"]]
    assert json.loads(first["body"]) == refused
    assert "attempts" not in first["attributes"] and "reason" not in first["attributes"]
    assert first["attributes"]["content"] == "auth0-logs"
    assert first["attributes"]["log_count"] == "7"
    assert first["attributes"]["previous_reason"] == REFUSED
    assert first["attributes"]["previous_status"] == "404"
    assert by_first[gave_up[0]["log_id"]]["attributes"]["previous_reason"] == GAVE_UP


def test_only_the_routes_dead_letters_move_and_keep_their_route(stack):
    factory = LogFactory(seed=12)
    siem_refused, siem_gave_up, security, old = (factory.many(n) for n in (3, 2, 4, 2))
    dead_letter(stack, siem_refused, REFUSED, status="404", route="siem")
    dead_letter(stack, security, REFUSED, status="404", route="security")
    dead_letter(stack, siem_gave_up, GAVE_UP, status="503", route="siem")
    dead_letter(stack, old, GAVE_UP)  # from before routes: no route attribute, so the route default
    raw_dead_letter(stack, "this is not json", "malformed message")  # default's too, and cannot move

    dry = redrive(stack, route="siem", dry_run=True)
    report = redrive(stack, route="siem")

    for run in (dry, report):
        assert run.moved_log_ids == ids_of(siem_refused + siem_gave_up)
        assert run.by_route_and_reason() == {("siem", REFUSED): (1, 3), ("siem", GAVE_UP): (1, 2)}
        assert run.other_routes == 3 and run.skipped == []
    assert dry.summary().splitlines() == [
        "Would move 2 messages (5 logs) to the queue.",
        f"  route siem: 1 message, 3 logs: {REFUSED}",
        f"  route siem: 1 message, 2 logs: {GAVE_UP}",
        "3 messages of other routes stay as they are.",
    ]
    moved = contents(stack, stack.queue_url)
    assert log_ids(moved) == ids_of(siem_refused + siem_gave_up)
    assert {m["attributes"]["route"] for m in moved} == {"siem"}  # the deliverer sends them to siem again
    stayed = contents(stack, stack.dead_letter_queue_url)
    assert log_ids([m for m in stayed if m["body"] != "this is not json"]) == ids_of(security + old)
    assert sorted(m["attributes"].get("route", "(none)") for m in stayed) == ["(none)", "(none)", "security"]
    assert next(m for m in stayed if m["attributes"].get("route") == "security")["attributes"]["reason"] == REFUSED


def test_the_default_route_takes_dead_letters_without_a_route_and_a_full_run_groups_by_route(stack):
    factory = LogFactory(seed=13)
    siem, old, named_default = factory.many(2), factory.many(3), factory.many(1)
    dead_letter(stack, siem, REFUSED, route="siem")
    dead_letter(stack, old, GAVE_UP)
    dead_letter(stack, named_default, GAVE_UP, route="default")

    dry = redrive(stack, dry_run=True)
    default = redrive(stack, route="default")

    assert dry.summary().splitlines() == [
        "Would move 3 messages (6 logs) to the queue.",
        f"  route default: 2 messages, 4 logs: {GAVE_UP}",
        f"  route siem: 1 message, 2 logs: {REFUSED}",
    ]
    assert default.moved_log_ids == ids_of(old + named_default) and default.other_routes == 1
    moved = contents(stack, stack.queue_url)
    assert sorted(m["attributes"].get("route", "(none)") for m in moved) == ["(none)", "default"]
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == ids_of(siem)


def test_a_route_and_a_type_filter_together_split_only_that_routes_messages(stack):
    factory = LogFactory(seed=14)
    siem = [factory.make("s"), factory.make("f"), factory.make("s")]
    other = [factory.make("s")]
    dead_letter(stack, siem, REFUSED, route="siem")
    dead_letter(stack, other, REFUSED, route="security")

    report = redrive(stack, route="siem", log_types=frozenset({"f"}))

    assert report.moved_log_ids == [siem[1]["log_id"]] and report.other_routes == 1
    [moved] = contents(stack, stack.queue_url)
    assert moved["attributes"]["route"] == "siem"
    stayed = contents(stack, stack.dead_letter_queue_url)
    assert log_ids(stayed) == sorted([siem[0]["log_id"], siem[2]["log_id"], other[0]["log_id"]])
    remainder = next(m for m in stayed if len(json.loads(m["body"])) == 2)
    assert remainder["attributes"]["route"] == "siem"  # what stays keeps its route


def test_messages_moved_by_the_queue_redrive_policy_move_too(stack):
    logs = LogFactory(seed=2).many(3)
    message = logs_message([dumps(e) for e in logs], logs)  # as the poller sent it, then SQS moved it
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(
        [Message(message.body, {**message.attributes, "attempts": "2"}, message.log_ids, dead_letter=True)]
    )

    report = redrive(stack)

    assert report.by_reason() == {NO_REASON: (1, 3)}
    [moved] = contents(stack, stack.queue_url)
    assert json.loads(moved["body"]) == logs
    assert "attempts" not in moved["attributes"] and "previous_reason" not in moved["attributes"]


def test_a_type_filter_moves_only_those_logs_and_keeps_the_rest_in_the_dead_letter_queue(stack):
    factory = LogFactory(seed=3)
    mixed = [factory.make("s"), factory.make("fp"), factory.make("f"), factory.make("seacft"), factory.make("s")]
    only_other = [factory.make("slo"), factory.make("fp")]
    dead_letter(stack, mixed, REFUSED, status="404")
    dead_letter(stack, only_other, GAVE_UP)

    report = redrive(stack, log_types=frozenset({"s", "f"}))

    wanted = [e for e in mixed if e["type"] in ("s", "f")]
    kept = [e for e in mixed if e["type"] not in ("s", "f")]
    assert report.moved_log_ids == ids_of(wanted)
    assert [m.kept_log_ids for m in report.moved] == [tuple(ids_of(kept))]
    assert report.not_matching == 1
    assert log_ids(contents(stack, stack.queue_url)) == ids_of(wanted)
    stayed = contents(stack, stack.dead_letter_queue_url)
    assert log_ids(stayed) == sorted(ids_of(kept + only_other))
    remainder = next(m for m in stayed if m["attributes"]["first_log_id"] == kept[0]["log_id"])
    assert remainder["attributes"]["reason"] == REFUSED and remainder["attributes"]["status"] == "404"
    assert remainder["attributes"]["log_count"] == "2" and remainder["attributes"]["log_types"] == "fp,seacft"


def test_at_most_the_given_number_of_messages_move(stack):
    factory = LogFactory(seed=4)
    batches = [factory.many(4) for _ in range(5)]
    for logs in batches:
        dead_letter(stack, logs, REFUSED)

    report = redrive(stack, max_messages=2)

    assert len(report.moved) == 2
    moved_ids = report.moved_log_ids
    assert log_ids(contents(stack, stack.queue_url)) == moved_ids
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == sorted(
        set([e["log_id"] for b in batches for e in b]) - set(moved_ids)
    )
    assert {tuple(ids_of(b)) for b in batches} >= {m.log_ids for m in report.moved}  # whole messages moved


def test_a_dry_run_moves_nothing_and_says_what_would_move(stack):
    factory = LogFactory(seed=5)
    first, second = factory.many(3), factory.many(2)
    dead_letter(stack, first, REFUSED)
    dead_letter(stack, second, GAVE_UP)

    report = redrive(stack, dry_run=True)

    assert report.moved_log_ids == ids_of(first + second)
    assert report.summary().startswith("Would move 2 messages (5 logs) to the queue.")
    assert contents(stack, stack.queue_url) == []
    # still there, and visible again at once (not hidden until the visibility timeout ends)
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == ids_of(first + second)


def test_what_is_not_a_batch_of_logs_stays_and_is_reported(stack):
    factory = LogFactory(seed=6)
    good = factory.many(2)
    dead_letter(stack, good, REFUSED)
    raw_dead_letter(stack, "this is not json", "malformed message: not a JSON array of log entries")
    raw_dead_letter(stack, json.dumps([{"type": "s", "no": "id"}]), "malformed log: no log_id or _id")
    raw_dead_letter(stack, "[]", "an empty batch")
    huge = factory.make("s", size=1_100_000)
    stub = dead_letter_message(huge, "log is too large")
    stack.client("sqs").send_message(
        QueueUrl=stack.dead_letter_queue_url, MessageBody=stub.body, MessageAttributes=stub.sqs_attributes()
    )

    report = redrive(stack)

    assert report.moved_log_ids == ids_of(good)
    problems = sorted(s.problem for s in report.skipped)
    assert problems == [
        f"a stub for log {huge['log_id']}, too large for SQS: read it with GET /api/v2/logs/{huge['log_id']}",
        "an empty array",
        "holds an entry with no log_id",
        "not JSON",
    ]
    assert "4 messages cannot be replayed and stay in the dead-letter queue:" in report.summary()
    assert log_ids(contents(stack, stack.queue_url)) == ids_of(good)
    stayed = sorted(m["body"] for m in contents(stack, stack.dead_letter_queue_url))
    assert stayed == sorted([stub.body, "this is not json", json.dumps([{"type": "s", "no": "id"}]), "[]"])


def test_the_rate_is_bounded_by_the_pacing_schedule(stack):
    factory = LogFactory(seed=7)
    for _ in range(5):
        dead_letter(stack, factory.many(2), REFUSED)
    now, sleeps = [100.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, clock=lambda: now[0], sleep=sleep)
    report = Redriver(stack.client("sqs"), options(stack, rate=2.0), pacer).run()

    assert len(report.moved) == 5
    assert pacer.slots == [100.0, 100.5, 101.0, 101.5, 102.0]  # one send every half second, no burst
    assert sleeps == [0.5, 0.5, 0.5, 0.5]


def test_a_send_sqs_refuses_leaves_the_message_in_the_dead_letter_queue(stack):
    logs = LogFactory(seed=8).many(3)
    message_id = dead_letter(stack, logs, REFUSED)
    with FaultProxy(stack.endpoint) as proxy:
        denied = {"__type": "AccessDenied", "message": "not authorized to perform sqs:SendMessage"}
        proxy.fail_when(sqs_action("SendMessage"), reply=Reply.json(denied, 403))
        sqs = boto3.client(
            "sqs", endpoint_url=proxy.url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )
        report = Redriver(sqs, options(stack)).run()

    assert report.moved == []
    assert report.error is not None
    assert report.error.startswith("no permission: this AWS identity may not call SendMessage here")
    assert report.error.endswith(f"message {message_id} stays in the dead-letter queue")
    assert contents(stack, stack.queue_url) == []
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == ids_of(logs)


def test_two_runs_at_once_move_each_message_once(stack):
    factory = LogFactory(seed=9)
    batches = [factory.many(3) for _ in range(30)]
    for logs in batches:
        dead_letter(stack, logs, REFUSED)
    reports = []

    def run() -> None:
        reports.append(Redriver(stack.client("sqs"), options(stack, visibility_timeout=60)).run())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    all_ids = [e["log_id"] for b in batches for e in b]
    # Each message is moved and then deleted by the run that received it. SQS is at-least-once: a
    # message can be received twice at once (moto's server does it under load), and then both runs
    # move it; a duplicate is harmless downstream (same webhook-id), a loss is not. So: every log is
    # back on the queue, what the runs report moving is exactly what the queue holds, nothing is left.
    moved = sorted(i for r in reports for i in r.moved_log_ids)
    assert sorted(set(moved)) == all_ids
    assert log_ids(contents(stack, stack.queue_url)) == moved
    assert contents(stack, stack.dead_letter_queue_url) == []


def test_a_replayed_message_is_delivered_with_a_fresh_attempt_count(stack, monkeypatch):
    logs = LogFactory(seed=10).many(6)
    with WebhookReceiver() as webhook:
        values = {"WEBHOOK_URL": f"{webhook.url}/hook", "ALLOW_INSECURE_WEBHOOK": "true", "MAX_RECEIVE_COUNT": "2"}
        set_environ(
            monkeypatch, {**values, **stack.environ()}, ("WEBHOOK_SECRET", "WEBHOOK_AUTHORIZATION", "SEND_AS_BATCH")
        )
        LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(
            [logs_message([dumps(e) for e in logs], logs)]
        )
        events = SqsEventSource(stack.client("sqs"), stack.queue_url)
        webhook.failures.next, webhook.failures.status = 2, 503
        events.poll_once(deliver)
        events.release_failed()
        events.poll_once(deliver)  # the second attempt = MAX_RECEIVE_COUNT: the deliverer dead-letters it
        assert webhook.delivered_ids == []

        report = redrive(stack)
        assert report.by_reason() == {"gave up after 2 attempts: HTTP 503 Service Unavailable": (1, 6)}

        # one more failure: a fresh message is retried; had it kept attempts=2 it would be dead-lettered again
        webhook.failures.next = 1
        assert events.poll_once(deliver) == (1, 1)
        events.release_failed()
        events.drain(deliver)

    assert webhook.delivered_ids == ids_of(logs)
    assert contents(stack, stack.dead_letter_queue_url) == []


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auth0_webhooks.ops", "redrive", *args],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
        timeout=60,
    )


def test_the_command_finds_the_queues_from_a_stack_and_reports(stack):
    factory = LogFactory(seed=11)
    logs = [factory.make("s"), factory.make("f"), factory.make("s")]
    dead_letter(stack, logs, REFUSED)
    name = f"auth0-webhooks-{stack.table.rsplit('-', 1)[1]}"
    stack.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {
                    "QueueUrl": {"Value": stack.queue_url},
                    "DeadLetterQueueUrl": {"Value": stack.dead_letter_queue_url},
                },
            }
        ),
    )

    dry = cli("--stack", name, "--types", "s", "--dry-run")
    done = cli("--stack", name, "--types", "s", "--rate", "50")

    assert dry.returncode == 0 and done.returncode == 0, dry.stderr + done.stderr
    assert dry.stdout.startswith("Would move 1 message (2 logs) to the queue.\n")
    assert done.stdout.splitlines() == [
        "Moved 1 message (2 logs) to the queue.",
        f"  route default: 1 message, 2 logs: {REFUSED}",
        "1 log of other types from split messages stay in the dead-letter queue.",
    ]
    assert log_ids(contents(stack, stack.queue_url)) == sorted([logs[0]["log_id"], logs[2]["log_id"]])
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == [logs[1]["log_id"]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--stack", "no-such-stack"], "redrive: there is no stack named no-such-stack in this account and region"),
        (
            ["--queue-url", "http://x/123456789012/q", "--dead-letter-queue-url", "{moto}/123456789012/missing"],
            "redrive: stopped: the queue does not exist (check the URL and the region)",
        ),
        (["--queue-url", "http://x/123456789012/q"], "give --stack, or --queue-url and --dead-letter-queue-url"),
        (["--stack", "s", "--rate", "0"], "--rate: must be a number above 0"),
        (["--stack", "s", "--types", "S;F"], "--types: must be comma-separated log type codes"),
    ],
)
def test_the_command_explains_what_is_wrong_without_a_traceback(moto, monkeypatch, args, expected):
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    monkeypatch.delenv("QUEUE_URL", raising=False)
    result = cli(*[a.replace("{moto}", moto.url) for a in args])

    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_moves_one_routes_dead_letters_and_refuses_a_bad_route_id(stack):
    factory = LogFactory(seed=15)
    siem, security = factory.many(2), factory.many(3)
    dead_letter(stack, siem, REFUSED, route="siem")
    dead_letter(stack, security, GAVE_UP, route="security")
    queues = ["--queue-url", stack.queue_url, "--dead-letter-queue-url", stack.dead_letter_queue_url]

    dry = cli(*queues, "--route", "security", "--dry-run")
    bad = cli(*queues, "--route", "Security!")
    done = cli(*queues, "--route", "security", "--rate", "50")

    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "Would move 1 message (3 logs) to the queue.",
        f"  route security: 1 message, 3 logs: {GAVE_UP}",
        "1 message of other routes stays as they are.",
    ]
    assert bad.returncode == 2
    assert "argument --route: must be a route id (lower-case letters, digits and -" in bad.stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Moved 1 message (3 logs) to the queue.\n")
    assert log_ids(contents(stack, stack.queue_url)) == ids_of(security)
    assert log_ids(contents(stack, stack.dead_letter_queue_url)) == ids_of(siem)
