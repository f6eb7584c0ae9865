"""Fixtures for the template tests: template.yaml's own resources on moto, and the functions' environments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters import clear_caches

from devkit.aws import MotoServer
from devkit.template import TemplateStack, stack_from_template

SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AUTHORIZATION = "Bearer template-t0ken-value"
# Every parameter a deployment could set, the optional secrets included, with values the template
# accepts. The Auth0 client matches devkit.tenant.LocalTenant's defaults.
PARAMETERS: dict[str, str | int] = {
    "Auth0Domain": "example.eu.auth0.com",
    "Auth0ClientId": "local-client",
    "Auth0ClientSecret": "local-secret-do-not-log",
    "WebhookUrl": "https://hooks.example.com/auth0",
    "WebhookAuthorization": AUTHORIZATION,
    "WebhookSecret": SIGNING_SECRET,
    "SlackIncomingWebhookUrl": "https://127.0.0.1:9/services/T000/B000/placeholder",  # refused at once, locally
    "AlarmEmail": "ops@example.com",
}
# Settings every environment variable of the template reads as the deployed stack would, except
# where a local stand-in needs something the template rightly refuses (http:// URLs).
LOCAL_SETTINGS = {"ALLOW_INSECURE_WEBHOOK": "true"}


@pytest.fixture
def template_stack(moto: MotoServer) -> TemplateStack:
    """template.yaml's queues, table and secrets on moto, with every optional parameter set."""
    return stack_from_template(moto.url, PARAMETERS)


@pytest.fixture
def cold_powertools() -> Iterator[None]:
    """A cold container: Powertools builds its Secrets Manager client (and endpoint) afresh."""
    clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
    yield
    clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated


def use_environ(monkeypatch: pytest.MonkeyPatch, stack: TemplateStack, function: str, **local: str) -> dict[str, str]:
    """Give this process the function's environment from the template, plus ``local`` stand-in settings."""
    values = {**stack.environ_for(function), **local}
    for name in ("AUTH0_CLIENT_SECRET", "WEBHOOK_AUTHORIZATION", "WEBHOOK_SECRET", "SLACK_INCOMING_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)  # a direct value beside the template's _ARN would be refused
    for name in ("RETRY_BASE_SECONDS", "RETRY_MAX_SECONDS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def log_ids_of(body: str) -> list[str]:
    value: Any = json.loads(body)
    return [entry["log_id"] for entry in (value if isinstance(value, list) else [value])]
