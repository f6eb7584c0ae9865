"""Each format's bodies, parsed as a receiver would; logstream bodies match Auth0 Log Streams' shapes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
from typing import Any

import pytest
from auth0_webhooks.routes.formats import Body, encode, webhook_id
from auth0_webhooks.signing import WebhookSigner, batch_id
from standardwebhooks import Webhook

from tests.conftest import SIGNING_SECRET

LOGS: list[dict[str, Any]] = [
    {"log_id": f"9002024010100000{n}", "date": "2024-01-01T00:00:00.000Z", "type": "s", "description": "é ✓"}
    for n in range(5)
]
IDS = [log["log_id"] for log in LOGS]


def received(body: Body) -> Any:
    """What a receiver does: undo Content-Encoding, then parse by Content-Type."""
    content = body.content
    if body.headers.get("Content-Encoding") == "gzip":
        content = gzip.decompress(content)
    text = content.decode("utf-8")
    if body.headers["Content-Type"] == "application/x-ndjson":
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]
    assert body.headers["Content-Type"] == "application/json"
    return json.loads(text)


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_array_is_a_json_array_of_logs_per_batch(compression: str):
    bodies = encode(LOGS, "array", compression, batch_size=2)  # type: ignore[arg-type]
    assert [received(body) for body in bodies] == [LOGS[0:2], LOGS[2:4], LOGS[4:5]]
    assert [list(body.log_ids) for body in bodies] == [IDS[0:2], IDS[2:4], IDS[4:5]]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_object_is_one_log_per_body(compression: str):
    bodies = encode(LOGS, "object", compression)  # type: ignore[arg-type]
    assert [received(body) for body in bodies] == LOGS
    assert [body.log_ids for body in bodies] == [(log_id,) for log_id in IDS]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_jsonlines_is_one_log_per_line(compression: str):
    (body,) = encode(LOGS, "jsonlines", compression)  # type: ignore[arg-type]
    assert received(body) == LOGS
    assert body.log_ids == tuple(IDS)


def wrapped(log: dict[str, Any]) -> dict[str, Any]:
    """Auth0 Log Streams' custom webhook element (log-streams.md): the id, and the log as the API returns it."""
    return {"log_id": log["log_id"], "data": log}


def test_logstream_array_matches_log_streams_jsonarray_field_for_field():
    (body,) = encode(LOGS, "logstream-array")
    parsed = received(body)
    assert parsed == [wrapped(log) for log in LOGS]
    assert all(set(element) == {"log_id", "data"} for element in parsed)


def test_logstream_jsonlines_matches_log_streams_jsonlines():
    (body,) = encode(LOGS, "logstream-jsonlines", "gzip")
    assert received(body) == [wrapped(log) for log in LOGS]


def test_logstream_object_is_one_wrapped_log_per_body():
    bodies = encode(LOGS, "logstream-object")
    assert [received(body) for body in bodies] == [wrapped(log) for log in LOGS]


def test_gzip_is_what_is_sent_and_the_signature_covers_those_bytes():
    (body,) = encode(LOGS, "array", "gzip")
    assert body.headers["Content-Encoding"] == "gzip"
    assert body.content[:2] == b"\x1f\x8b"
    assert encode(LOGS, "array", "gzip")[0].content == body.content  # the same logs, the same bytes on a retry
    headers = WebhookSigner(SIGNING_SECRET).headers(batch_id(body.log_ids), body.content)
    # as the Standard Webhooks spec says, over the bytes received (its libraries decode the body as UTF-8
    # first, so a receiver of gzip verifies with a plain HMAC as here, then decompresses)
    key = base64.b64decode(SIGNING_SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body.content
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == expected
    assert received(body) == LOGS
    assert len(body.content) < len(encode(LOGS, "array")[0].content)


def test_uncompressed_bodies_verify_with_the_standard_webhooks_library():
    (body,) = encode(LOGS, "logstream-array")
    headers = WebhookSigner(SIGNING_SECRET).headers(batch_id(body.log_ids), body.content)
    assert Webhook(SIGNING_SECRET).verify(body.content.decode(), headers) == [wrapped(log) for log in LOGS]


def test_no_logs_no_bodies():
    assert encode([], "array") == []


def test_webhook_ids_are_stable_per_route_and_batch_and_differ_between_routes():
    bodies = encode(LOGS, "array", batch_size=2)
    again = encode(LOGS, "array", batch_size=2)
    siem = [webhook_id("siem", body, "array") for body in bodies]
    assert siem == [webhook_id("siem", body, "array") for body in again]
    assert len(set(siem)) == 3
    assert not set(siem) & {webhook_id("security", body, "array") for body in bodies}
    # the default route keeps today's ids: a batch's hash even for one log, a log's id in object mode
    assert [webhook_id("default", body, "array") for body in bodies] == [
        batch_id(IDS[0:2]),
        batch_id(IDS[2:4]),
        batch_id(IDS[4:5]),
    ]
    singles = encode(LOGS, "object")
    assert [webhook_id("default", body, "object") for body in singles] == IDS
