import json

from auth0_webhooks.dead_letters import dead_letter_message, malformed_log
from auth0_webhooks.messages import MAX_BODY_BYTES, MAX_MESSAGE_BYTES
from auth0_webhooks.queue import batch_messages
from auth0_webhooks.routes.enqueue import page_messages
from auth0_webhooks.routes.model import Route, WebhookDestination
from auth0_webhooks.routes.plan import compile_route

from devkit.logs import LogFactory


def test_batches_respect_count_and_size_and_keep_order():
    logs = LogFactory(seed=1).many(40, large_every=3, large_size=120_000)
    messages = batch_messages(logs, max_count=7, max_bytes=300_000)

    assert [i for m in messages for i in m.log_ids] == [e["log_id"] for e in logs]
    assert all(len(m.log_ids) <= 7 for m in messages)
    assert all(len(m.body.encode()) <= 300_000 for m in messages)
    assert json.loads(messages[0].body) == logs[: len(messages[0].log_ids)]


def test_a_full_size_batch_stays_under_the_sqs_limit_with_its_attributes():
    logs = LogFactory(seed=2).many(100, large_every=1, large_size=60_000)
    messages = batch_messages(logs, max_count=100)
    assert len(messages) > 1
    assert all(m.size <= MAX_MESSAGE_BYTES for m in messages)
    assert all(len(m.body.encode()) <= MAX_BODY_BYTES for m in messages)


def test_a_log_too_large_for_any_message_becomes_a_dead_letter_stub_in_its_place():
    factory = LogFactory(seed=3)
    small, huge, after = factory.make("s"), factory.make("s", size=MAX_MESSAGE_BYTES + 10), factory.make("f")
    messages = batch_messages([small, huge, after], max_count=100)

    assert [(m.dead_letter, m.log_ids) for m in messages] == [
        (False, (small["log_id"],)),
        (True, (huge["log_id"],)),
        (False, (after["log_id"],)),
    ]
    stub = json.loads(messages[1].body)
    assert stub["log_id"] == huge["log_id"] and stub["size_bytes"] > MAX_MESSAGE_BYTES
    assert "GET /api/v2/logs/{id}" in stub["error"]


def test_a_dead_letter_keeps_a_non_log_entry_whole():
    message = dead_letter_message(["not", "a", "log"], "malformed log")
    assert json.loads(message.body) == ["not", "a", "log"]
    assert message.attributes["reason"] == "malformed log" and message.log_ids == ()


def test_a_malformed_entry_is_dead_lettered_with_the_body_and_attributes_redrive_reads():
    hook = WebhookDestination(url="https://hooks.example")
    routes = [compile_route(Route("default", hook), None), compile_route(Route("siem", hook), None)]
    entry = {"type": "s", "description": "Connexion réussie"}

    plan = page_messages([entry, {"log_id": "900a", "type": "s"}], None, routes, batch_size=100)

    dead = [m for m in plan.messages if m.dead_letter]
    assert [(m.body, dict(m.attributes), m.log_ids) for m in dead] == [
        (
            '{"type":"s","description":"Connexion réussie"}',
            {"content": "dead-letter", "reason": "malformed log: no log_id or _id"},
            (),
        )
    ]
    assert dead == [malformed_log(entry)]  # the poller's backlog drain sends the same
