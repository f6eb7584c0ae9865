"""A hand-on that fails (Lambda refuses the poller's invoke of itself) is a WARNING and a ``Shortfalls``
data point, which the ``shortfalls`` alarm watches; the run's logs are queued and the checkpoint is theirs.

The run's time is injected: it runs out once the tenant has answered three requests (no wall-clock race).
"""

from __future__ import annotations

import logging

import pytest
from auth0_webhooks.handoff import hand_on
from auth0_webhooks.metrics import PUBLISHED, SHORTFALLS
from auth0_webhooks.poller import run_poller
from auth0_webhooks.settings import PollerSettings

from devkit.aws import Stack
from devkit.logs import LogFactory
from devkit.tenant import LocalTenant
from tests.conftest import ids_of, queued_ids


def test_a_failed_hand_on_moves_the_shortfalls_metric_and_loses_nothing(
    poller_env: dict[str, str], stack: Stack, tenant: LocalTenant, caplog: pytest.LogCaptureFixture
) -> None:
    logs = LogFactory(seed=401).many(1000)
    tenant.add(logs)
    missing = "arn:aws:lambda:us-east-1:123456789012:function:no-such-poller"  # moto's Lambda refuses it

    def seconds_left() -> float:  # plenty until three requests were answered, then too little for another
        return 60.0 if tenant.stats.log_requests < 3 else 3.5

    with caplog.at_level(logging.WARNING):
        result = run_poller(PollerSettings.from_env(), seconds_left, hand_on=lambda: hand_on(missing))

    assert (result.stopped, result.backlog, result.handed_on, result.hand_on_failed) == (
        "out-of-time",
        True,
        False,
        True,
    )
    assert result.metrics()[SHORTFALLS] == 1 and SHORTFALLS in PUBLISHED
    [warning] = [r for r in caplog.records if r.getMessage() == "could not start the next run at once"]
    assert warning.levelname == "WARNING" and "ResourceNotFound" in str(warning.__dict__.get("error"))
    assert result.checkpoint is not None and result.checkpoint < logs[-1]["log_id"]  # a backlog is left
    below = [i for i in ids_of(logs) if i <= result.checkpoint]
    assert set(below) <= set(queued_ids(stack))  # every log the checkpoint passed is queued; the schedule goes on
