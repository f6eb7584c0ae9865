"""Fan-out: each route gets its matching logs, scrubbed by its own rules, in order; junk is reported."""

from __future__ import annotations

import json

import pytest
from auth0_webhooks.routes import Match, Pii, Route, WebhookDestination
from auth0_webhooks.routes.plan import compile_route, fan_out

HOOK = WebhookDestination(url="https://receiver.example")
LOGS = [
    {"log_id": "1", "type": "s", "user_name": "jane@example.com"},
    {"log_id": "2", "type": "limit_wc", "user_name": "joe@example.com"},
    {"log_id": "3", "type": "f", "user_name": "jane@example.com"},
]


def test_each_route_gets_its_logs_scrubbed_by_its_own_rules_in_order():
    hashed = compile_route(Route("siem", HOOK, pii=Pii(hash=("user_name",))), hash_key=b"siem-key")
    plain = compile_route(Route("security", HOOK, match=Match(min_level=3)), hash_key=None)
    out = fan_out([hashed, plain], [*LOGS, None, ["x"]])
    assert [log["log_id"] for log in out.routed["siem"]] == ["1", "2", "3"]
    assert [log["log_id"] for log in out.routed["security"]] == ["2", "3"]
    assert "@example.com" not in json.dumps(out.routed["siem"])
    assert out.routed["siem"][0]["user_name"] == out.routed["siem"][2]["user_name"]  # the same user, the same hash
    assert out.routed["security"][1]["user_name"] == "jane@example.com"
    assert LOGS[0]["user_name"] == "jane@example.com"  # the input is untouched
    assert out.malformed == [None, ["x"]]


def test_a_route_matching_nothing_gets_an_empty_list():
    none = compile_route(Route("none", HOOK, match=Match(types=frozenset({"fp"}))), hash_key=None)
    assert fan_out([none], LOGS).routed == {"none": []}


def test_a_hashing_route_without_its_key_fails_at_compile_time():
    with pytest.raises(ValueError, match="hashing needs a key"):
        compile_route(Route("siem", HOOK, pii=Pii(hash=("user_name",))), hash_key=None)
