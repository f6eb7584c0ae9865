"""The AWS clients whose calls must end within a bound make as many attempts as their comments say.

botocore's ``max_attempts`` counts retries (``max_attempts: 1`` is two attempts); ``total_max_attempts``
counts every attempt. Read from real clients, as botocore resolves them.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from auth0_webhooks import clients
from auth0_webhooks.notify.ses import SES_CONFIG
from botocore.config import Config


@pytest.mark.parametrize(
    ("service", "config", "attempts", "seconds"),
    [
        ("events", clients.EVENTS_CONFIG, 1, 8.0),  # the EventBridge destination: one attempt of at most 8 s
        ("sesv2", SES_CONFIG, 1, 7.0),  # the notifier's MIN_SECONDS_LEFT (8 s) covers one send
        ("dynamodb", clients.DEADLINE_CONFIG, 1, clients.DEADLINE_CALL_SECONDS),  # budget.py's margin
    ],
)
def test_a_bounded_client_makes_one_attempt_within_its_bound(
    service: str, config: Config, attempts: int, seconds: float
):
    client: Any = boto3.client(service, region_name="us-east-1", config=config)  # type: ignore[call-overload]
    resolved = client.meta.config

    assert resolved.retries["total_max_attempts"] == attempts
    assert attempts * (resolved.connect_timeout + resolved.read_timeout) <= seconds
