"""The poller with routes: each route's logs in messages of their own, PII scrubbed before SQS,
the checkpoint after an SQS failure, a bad routes file, and today's messages without a routes file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth0_webhooks.errors import ConfigError, QueueError, RoutesError
from auth0_webhooks.signing import batch_id

from devkit.logs import LogFactory
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, ids_of, load_event, queued_ids
from tests.integration.test_poller_hardening import PartialSqsProxy, key

EVENT = load_event("scheduled.json")
HASH_KEY = "route-hash-key-do-not-log"
HASHED = ("user_id", "user_name", "ip")
TODAY_ATTRIBUTES = {"content", "log_count", "first_log_id", "last_log_id", "log_types", "webhook_id", "oldest_log_date"}


def routes_yaml(secret: str) -> str:
    return f"""
version: 1
routes:
  - id: siem
    pii:
      hash: [{", ".join(HASHED)}]
      hash_key_secret: {secret}
    destination: {{type: webhook, url: "https://siem.example/in", format: jsonlines}}
  - id: security
    match: {{types: [limit_wc, pwd_leak]}}
    destination: {{type: webhook, url: "https://security.example/in", format: logstream}}
  - id: fails
    match: {{types: [f]}}
    destination: {{type: eventbridge, bus: auth0-logs}}
"""


@pytest.fixture
def three_routes(poller_env, stack, tmp_path: Path, monkeypatch, cold_powertools) -> Path:
    """Three routes read from a file; the hash key in Secrets Manager under the stack's prefix."""
    name = f"{stack.table}/siem-hash-key"
    stack.client("secretsmanager").create_secret(Name=name, SecretString=HASH_KEY)
    path = tmp_path / "routes.yaml"
    path.write_text(routes_yaml(name))
    monkeypatch.setenv("ROUTES_FILE", str(path))
    monkeypatch.setenv("STACK_NAME", stack.table)
    return path


def page_of_types(factory: LogFactory, types: str) -> list[dict[str, Any]]:
    return [factory.make(code) for code in types.split()]


def by_route(stack) -> dict[str | None, list[dict[str, Any]]]:
    """Every message on the queue (taken off it), by its ``route`` attribute, in log_id order."""
    found: dict[str | None, list[dict[str, Any]]] = {}
    for message in stack.drain():
        attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
        found.setdefault(attributes.get("route"), []).append({"attributes": attributes, "body": message["Body"]})
    for messages in found.values():
        messages.sort(key=lambda m: m["attributes"]["first_log_id"])
    return found


def ids_in(messages: list[dict[str, Any]]) -> list[str]:
    return [entry["log_id"] for m in messages for entry in json.loads(m["body"])]


def test_each_route_gets_exactly_its_logs_once_in_order_with_pii_hashed(three_routes, tenant, stack):
    factory = LogFactory(seed=61)
    logs = page_of_types(factory, "s f limit_wc s pwd_leak f s seacft fp limit_wc s f")
    tenant.add(logs)

    result = lambda_handler(EVENT, context())

    queued = by_route(stack)
    assert set(queued) == {"siem", "security", "fails"}
    assert ids_in(queued["siem"]) == ids_of(logs)
    assert ids_in(queued["security"]) == [e["log_id"] for e in logs if e["type"] in ("limit_wc", "pwd_leak")]
    assert ids_in(queued["fails"]) == [e["log_id"] for e in logs if e["type"] == "f"]
    webhook_ids = [m["attributes"]["webhook_id"] for ms in queued.values() for m in ms]
    assert len(set(webhook_ids)) == len(webhook_ids)
    assert all(m["attributes"]["webhook_id"].startswith(f"{route}_batch_") for route, ms in queued.items() for m in ms)
    assert result["routed"] == {"siem": 12, "security": 3, "fails": 3}
    assert result["enqueued"] == 18 and result["kept"] == 12
    # the hashed fields' original values appear nowhere in SQS; the other routes keep them (no PII rules)
    siem_text = json.dumps(queued["siem"])
    originals = {str(log[field]) for log in logs for field in HASHED}
    assert [value for value in originals if value in siem_text] == []
    siem_logs = [entry for m in queued["siem"] for entry in json.loads(m["body"])]
    assert all(entry["user_name"].startswith("hmac-sha256:") for entry in siem_logs)
    assert HASH_KEY not in siem_text
    security_logs = [entry for m in queued["security"] for entry in json.loads(m["body"])]
    assert security_logs == [log for log in logs if log["type"] in ("limit_wc", "pwd_leak")]  # exact, unscrubbed
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]


def test_the_same_user_hashes_the_same_way_across_runs(three_routes, tenant, stack):
    factory = LogFactory(seed=62)
    first = factory.make("s")
    tenant.add([first])
    lambda_handler(EVENT, context())
    again = factory.make("s", user_id=first["user_id"], user_name=first["user_name"], ip=first["ip"])
    tenant.add([again])
    lambda_handler(EVENT, context())

    hashed = [entry for m in by_route(stack)["siem"] for entry in json.loads(m["body"])]
    assert [entry["log_id"] for entry in hashed] == [first["log_id"], again["log_id"]]
    assert {(entry["user_id"], entry["user_name"], entry["ip"]) for entry in hashed} == {
        (hashed[0]["user_id"], hashed[0]["user_name"], hashed[0]["ip"])
    }


def test_a_malformed_entry_is_dead_lettered_once_not_once_per_route(three_routes, tenant, stack):
    logs = LogFactory(seed=63).many(3, log_type="f")
    tenant.add(logs)
    tenant.add([{"date": logs[1]["date"], "type": "f"}], keys=[logs[1]["log_id"] + "5"])  # no id

    result = lambda_handler(EVENT, context())
    dead = stack.drain(stack.dead_letter_queue_url)

    assert len(dead) == 1 and result["dead_lettered"] == 1
    assert "route" not in dead[0].get("MessageAttributes", {})
    queued = by_route(stack)
    assert ids_in(queued["siem"]) == ids_in(queued["fails"]) == ids_of(logs)


def test_an_sqs_failure_mid_page_keeps_the_checkpoint_below_the_first_unsent_log(
    three_routes, tenant, stack, monkeypatch
):
    monkeypatch.setenv("BATCH_SIZE", "10")
    factory = LogFactory(seed=64)
    first = page_of_types(factory, "s")  # a first run reads the oldest log alone
    second = page_of_types(factory, "s s f limit_wc s pwd_leak f s s s")
    tenant.add(first + second)
    # the page's second message (security's) is refused for good; SQS took the request's other two
    proxy = PartialSqsProxy(stack.endpoint, refuse_id="1", sender_fault=True, times=1).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        with pytest.raises(QueueError):
            lambda_handler(EVENT, context())
    finally:
        proxy.stop()
    # fails' first log is the page's third: nothing from it on is known to have reached every route
    assert checkpoint_of(stack, key(tenant))["log_id"] == second[1]["log_id"]

    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS")
    lambda_handler(EVENT, context())

    queued = by_route(stack)
    everything = ids_of(first + second)
    assert ids_in(queued["siem"]) == everything[:1] + everything[1:] + everything[3:]  # the rest again: at least once
    assert ids_in(queued["security"]) == [e["log_id"] for e in second if e["type"] in ("limit_wc", "pwd_leak")]
    fails = [e["log_id"] for e in second if e["type"] == "f"]
    assert sorted(ids_in(queued["fails"])) == sorted(fails * 2)  # accepted beside the refused one, and sent again
    assert len({m["attributes"]["webhook_id"] for m in queued["fails"]}) == 1  # under the same id: receivers dedupe
    assert checkpoint_of(stack, key(tenant))["log_id"] == second[-1]["log_id"]


def test_a_bad_routes_file_fails_at_cold_start_before_any_auth0_request(
    poller_env, tenant, stack, tmp_path, monkeypatch
):
    path = tmp_path / "routes.yaml"
    path.write_text(
        "routes:\n"
        "  - id: siem\n    colour: red\n    destination: {type: webhook, url: 'http://siem.example'}\n"
        "  - id: siem\n    match: {categories: [logins]}\n    destination: {type: eventbridge, bus: b}\n"
    )
    monkeypatch.setenv("ROUTES_FILE", str(path))
    tenant.add(LogFactory(seed=65).many(3))

    with pytest.raises(RoutesError) as raised:
        lambda_handler(EVENT, context())

    message = str(raised.value)
    assert message.startswith(f"{path} has 4 errors")
    for expected in ("colour: unknown field", "destination.url: must be an https:// URL", "id: is also the id"):
        assert expected in message
    assert "logins" in message
    assert tenant.stats.token_requests == 0 and tenant.stats.log_requests == 0
    assert queued_ids(stack) == []


def test_a_hash_key_that_cannot_be_read_names_the_route_and_field(three_routes, tenant, stack, monkeypatch):
    three_routes.write_text(routes_yaml(f"{stack.table}/missing-key"))
    monkeypatch.setenv("ROUTES_FILE", str(three_routes.rename(three_routes.with_name("other.yaml"))))
    tenant.add(LogFactory(seed=66).many(2))

    with pytest.raises(ConfigError, match=r"route siem: pii\.hash_key_secret must be a Secrets Manager secret"):
        lambda_handler(EVENT, context())
    assert tenant.stats.log_requests == 0


def test_without_a_routes_file_the_messages_are_todays_byte_for_byte(poller_env, tenant, stack, tmp_path, monkeypatch):
    factory = LogFactory(seed=67)
    first, page = factory.many(1), factory.many(12)
    tenant.add(first + page)
    monkeypatch.delenv("ROUTES_FILE", raising=False)
    lambda_handler(EVENT, context())

    messages = sorted(stack.drain(), key=lambda m: m["MessageAttributes"]["first_log_id"]["StringValue"])
    assert [m["Body"] for m in messages] == ["[" + json.dumps(e) + "]" for e in first] + [
        "[" + ",".join(json.dumps(e) for e in page) + "]"
    ]
    for message, logs in zip(messages, (first, page), strict=True):
        assert set(message["MessageAttributes"]) == TODAY_ATTRIBUTES  # no route attribute: the default route
        assert message["MessageAttributes"]["webhook_id"]["StringValue"] == batch_id(tuple(ids_of(logs)))


def test_a_routes_file_of_comments_only_is_the_default_route(poller_env, tenant, stack, tmp_path, monkeypatch):
    path = tmp_path / "routes.yaml"
    path.write_text("# version: 1\n# routes:\n#   - id: siem\n")
    monkeypatch.setenv("ROUTES_FILE", str(path))
    monkeypatch.setenv("LOG_TYPES", "f")
    logs = page_of_types(LogFactory(seed=68), "f s f")
    tenant.add(logs)

    result = lambda_handler(EVENT, context())

    assert queued_ids(stack) == [logs[0]["log_id"], logs[2]["log_id"]]  # LOG_TYPES still filters
    assert result["routed"] == {"default": 2}
