"""Catch-up without waiting for the schedule: a run out of time with a backlog starts the next one at once.

:func:`hand_on` invokes the poller's own function asynchronously (``InvocationType=Event``): the
event waits in Lambda's queue until this run ends (reserved concurrency 1), and the next run takes
the lease and carries on from the checkpoint. :func:`should_hand_on` bounds it: only a run that
ended out of time with a full last page hands on, at most once, so a tenant with no backlog costs
nothing extra and the chain stops when the backlog is drained.

>>> should_hand_on("out-of-time", backlog=True), should_hand_on("out-of-time", backlog=False)
(True, False)
>>> should_hand_on("rate-limited", backlog=True)  # the limit will not reset sooner for starting again
False
"""

from __future__ import annotations

import json

from . import clients

EVENT = {"source": "auth0-webhooks.hand-on"}  # what the next run receives (the handler ignores its event)


def should_hand_on(stopped: str, backlog: bool) -> bool:
    """Whether a run that ended so should start the next one at once."""
    return stopped == "out-of-time" and backlog


def hand_on(function_arn: str) -> None:
    """Start the next run of ``function_arn`` (this function) asynchronously."""
    clients.aws_client("lambda").invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(EVENT).encode()
    )
