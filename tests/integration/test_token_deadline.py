"""The token request has a deadline on its whole exchange, as the log reads have: a tenant that
answers ``/oauth/token`` one byte at a time cannot keep the poller past its deadline.

Each byte comes well within a socket read's timeout, so only a deadline on the whole exchange
cuts it; had the token arrived (after about 6 s), the run would have read and queued the logs.
"""

from __future__ import annotations

import time

import pytest
from auth0_webhooks.errors import Auth0Error

from devkit.logs import LogFactory
from devkit.tenant import LocalTenant
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, load_event, queued_ids


def test_a_tenant_trickling_its_token_cannot_hold_the_run_past_its_deadline(poller_env, tenant: LocalTenant, stack):
    tenant.add(LogFactory(seed=42).many(5))
    tenant.faults.token_trickle_seconds = 0.05  # a token answer of ~130 bytes: about 6.5 s, 50 ms a byte

    with pytest.raises(Auth0Error, match=r"/oauth/token failed after \d+ attempts?; last: no complete answer within"):
        lambda_handler(load_event("scheduled.json"), context(6.0))

    assert tenant.stats.token_requests >= 1 and tenant.stats.log_requests == 0
    assert queued_ids(stack) == []
    assert checkpoint_of(stack, tenant.url.split("://", 1)[1]).get("log_id") is None
    for _ in range(100):  # the tenant notices the hang-up at its next byte
        if tenant.trickles_cut:
            break
        time.sleep(0.05)
    assert tenant.trickles_cut >= 1
