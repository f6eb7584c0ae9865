"""Shared fixtures: moto's server (one per session), fresh queues and table per test, a local tenant."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.aws import MotoServer, Stack, create_stack
from devkit.lambda_context import LambdaContext
from devkit.receivers import SlackReceiver, WebhookReceiver
from devkit.tenant import LocalTenant

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example
AUTHORIZATION = "Bearer s3cr3t-token-value"
# as the deployed template sets them, before any handler module is imported
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-test")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Auth0WebhooksTest")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        saved = dict(os.environ)
        os.environ.update(server.environ())
        yield server
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def stack(moto: MotoServer) -> Stack:
    return create_stack(moto.url)


@pytest.fixture
def tenant() -> Iterator[LocalTenant]:
    with LocalTenant() as server:
        yield server


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A receiver that checks our signature and Authorization header."""
    with WebhookReceiver(secret=SIGNING_SECRET, authorization=AUTHORIZATION) as server:
        yield server


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as server:
        yield server


@pytest.fixture
def poller_env(stack: Stack, tenant: LocalTenant, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The poller's settings pointing at this test's tenant and stack; tests change what they need."""
    values = {
        "AUTH0_DOMAIN": tenant.url,
        "AUTH0_CLIENT_ID": "local-client",
        "AUTH0_CLIENT_SECRET": "local-secret-do-not-log",
        **stack.environ(),
    }
    unset = (
        "BATCH_SIZE",
        "START_FROM",
        "RATE_LIMIT_RESERVE",
        "LOG_TYPES",
        "MIN_LOG_LEVEL",
        "API_ENDPOINTS",
        "AUTH0_CLIENT_SECRET_ARN",
    )
    return set_environ(monkeypatch, values, unset)


def set_environ(monkeypatch: pytest.MonkeyPatch, values: dict[str, str], unset: tuple[str, ...] = ()) -> dict[str, str]:
    """Set ``values`` and remove ``unset`` (and any stray Slack or SQS override) for this test."""
    for name in (*unset, "SLACK_INCOMING_WEBHOOK_URL", "SLACK_SEND_SUCCESS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def context(seconds: float = 60.0) -> LambdaContext:
    return LambdaContext(seconds)


def queued_ids(stack: Stack, queue_url: str | None = None) -> list[str]:
    """Take every message off the queue; their log ids in log_id order (duplicates kept)."""
    ids: list[str] = []
    for message in stack.drain(queue_url):
        body = json.loads(message["Body"])
        for entry in body if isinstance(body, list) else [body]:
            ids.append(entry.get("log_id") or entry.get("_id"))
    return sorted(ids)


def checkpoint_of(stack: Stack, key: str) -> dict[str, str]:
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key={"pk": {"S": key}}).get("Item", {})
    return {name: value["S"] for name, value in item.items()}


def ids_of(logs: list[dict[str, Any]]) -> list[str]:
    return [entry["log_id"] for entry in logs]
