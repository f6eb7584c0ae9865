"""Local webhook and Slack receivers that record what they get and fail on request."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from .http import LocalServer, Reply, Request


@dataclass
class Delivery:
    request: Request
    status: int
    log_ids: list[str]
    verified: bool | None  # None: no secret to check with
    logs: list[dict[str, Any]] = field(default_factory=list)  # the logs, as a user's receiver reads them
    shape: str = ""  # array, object, jsonlines, logstream-array, logstream-object, logstream-jsonlines


@dataclass
class Failures:
    """How the receiver misbehaves. Counts go down as they are used."""

    next: int = 0  # fail the next N requests
    status: int = 503
    retry_after: str | None = None
    log_ids: dict[str, int] = field(default_factory=dict)  # fail requests carrying these ids with this status
    share: float = 0.0  # fail this share of requests at random (with ``status``)
    delay: float = 0.0  # seconds before answering every request


class WebhookReceiver(LocalServer):
    """Answers 200 unless told otherwise; verifies Standard Webhooks signatures when given the secret."""

    def __init__(
        self, secret: str | None = None, authorization: str | None = None, seed: int = 1, inspect: bool = True
    ) -> None:
        super().__init__()
        self.secret, self.authorization = secret, authorization
        self.inspect = inspect  # False: neither parse bodies nor check signatures (a receiver that only waits)
        self.failures = Failures()
        self.deliveries: list[Delivery] = []
        self.random = random.Random(seed)
        self.in_flight = self.max_in_flight = 0

    def handle(self, request: Request) -> Reply:
        shape, logs = read_logs(request) if self.inspect else ("", [])
        ids = [str(e.get("log_id") or e.get("_id")) for e in logs]
        verified = self._verify(request) if self.secret and self.inspect else None
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.failures.delay)
        finally:
            with self.lock:
                self.in_flight -= 1
                reply = self._decide(request, ids, verified)
                self.deliveries.append(Delivery(request, reply.status, ids, verified, logs, shape))
        return reply

    def _decide(self, request: Request, ids: list[str], verified: bool | None) -> Reply:
        f = self.failures
        if self.authorization is not None and request.headers.get("authorization") != self.authorization:
            return Reply.json({"error": "unauthorized"}, 401)
        if verified is False:
            return Reply.json({"error": "bad signature"}, 400)
        statuses = [f.log_ids[i] for i in ids if i in f.log_ids]
        if statuses:
            return Reply.json({"error": "refused"}, statuses[0], self._retry_after())
        if f.next:
            f.next -= 1
            return Reply.json({"error": "failing on purpose"}, f.status, self._retry_after())
        if f.share and self.random.random() < f.share:
            return Reply.json({"error": "failing on purpose"}, f.status, self._retry_after())
        return Reply.json({"ok": True})

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": self.failures.retry_after} if self.failures.retry_after else {}

    def _verify(self, request: Request) -> bool:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        json_text = request.headers.get("content-type", "").startswith("application/json")
        if request.headers.get("content-encoding") == "gzip" or not json_text:  # the library parses JSON text
            return verify_bytes(self.secret or "", request)
        try:
            Webhook(self.secret or "").verify(request.body, request.headers)
        except WebhookVerificationError:
            return False
        return True

    @property
    def delivered_ids(self) -> list[str]:
        """Log ids of every request answered 2xx, in log_id order, duplicates kept."""
        with self.lock:
            return sorted(i for d in self.deliveries if 200 <= d.status < 300 for i in d.log_ids)


class SlackReceiver(LocalServer):
    """An incoming-webhook endpoint: answers ``ok`` and keeps each payload."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[dict[str, Any]] = []
        self.fail_status: int | None = None

    def handle(self, request: Request) -> Reply:
        if self.fail_status:
            return Reply(self.fail_status, b"service unavailable")
        with self.lock:
            self.payloads.append(request.json())
        return Reply(200, b"ok", {"Content-Type": "text/plain"})

    def titles(self) -> list[str]:
        with self.lock:
            return [p["attachments"][0]["fallback"] for p in self.payloads]


def read_logs(request: Request) -> tuple[str, list[dict[str, Any]]]:
    """The body's shape and its logs, as a receiver would read them: gunzipped if
    ``Content-Encoding: gzip``, JSON lines if ``application/x-ndjson``, Log Streams' ``{"log_id", "data"}``
    wrappers unwrapped. ``("", [])`` for a body that is none of these."""
    body = request.body
    try:
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if request.headers.get("content-type", "").startswith("application/x-ndjson"):
            text = body.decode("utf-8")
            if not text.endswith("\n"):
                return "", []
            items, shape = [json.loads(line) for line in text.splitlines()], "jsonlines"
        else:
            value = json.loads(body)
            items, shape = (value, "array") if isinstance(value, list) else ([value], "object")
    except (ValueError, OSError, EOFError):
        return "", []
    if items and all(isinstance(i, dict) and set(i) == {"log_id", "data"} for i in items):
        if any(not isinstance(i["data"], dict) or i["data"].get("log_id") != i["log_id"] for i in items):
            return "", []
        return f"logstream-{shape}", [i["data"] for i in items]
    return shape, [i for i in items if isinstance(i, dict)]


def verify_bytes(secret: str, request: Request) -> bool:
    """Standard Webhooks' signature checked over the bytes received (what a gzip receiver must do)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers.get('webhook-id')}.{request.headers.get('webhook-timestamp')}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + request.body, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[-1] for s in request.headers.get("webhook-signature", "").split()]
    return any(hmac.compare_digest(expected, g) for g in given)


def payload_fields(payload: dict[str, Any]) -> dict[str, str]:
    """The fields of a Slack payload's attachment, by title."""
    return {f["title"]: f["value"] for f in payload["attachments"][0]["fields"]}
