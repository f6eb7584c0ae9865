"""One route's logs as SQS messages: the live pipeline's messages plus a ``route`` attribute, a per-route
``webhook_id`` and, for a replay, a ``replayed`` attribute.

The ``default`` route's messages are today's exactly (no ``route`` attribute, ``webhook_id`` from the log
ids alone); another route's ``webhook_id`` is its id before that (as :func:`.formats.webhook_id` names a
route's bodies), so two routes that
take the same logs never share a ``webhook-id`` while the same route and batch always give the same one
(a replay of a batch is recognised by the receiver's dedupe).

>>> logs = [{"log_id": "900a", "type": "s"}, {"log_id": "900b", "type": "f"}]
>>> [m.attributes["webhook_id"] == batch_id(["900a", "900b"]) for m in route_messages("default", logs, 100)]
[True]
>>> siem = route_messages("siem", logs, 1, replayed=True)
>>> [(m.log_ids, m.attributes["route"], m.attributes["replayed"]) for m in siem]
[(('900a',), 'siem', 'true'), (('900b',), 'siem', 'true')]
>>> siem[0].attributes["webhook_id"] == route_batch_id("siem", ["900a"]) != batch_id(["900a"])
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..messages import Message
from ..queue import batch_messages
from ..signing import batch_id
from .formats import DEFAULT_ROUTE_ID

ROUTE = "route"  # the attribute naming the route a message is for (absent: the default route)
REPLAYED = "replayed"  # "true" on a message a replay made (the deliverer sends webhook-replayed: true)
WEBHOOK_ID = "webhook_id"


def route_batch_id(route: str, log_ids: Sequence[str]) -> str:
    """The ``webhook-id`` of a route's batch: today's for the default route, else prefixed with the route.

    >>> route_batch_id("siem", ["900a"]) == "siem_" + batch_id(["900a"])
    True
    """
    base = batch_id(log_ids)
    return base if route == DEFAULT_ROUTE_ID else f"{route}_{base}"


def route_messages(
    route: str,
    logs: Sequence[Mapping[str, Any]],
    batch_size: int,
    texts: Sequence[str] | None = None,
    replayed: bool = False,
) -> list[Message]:
    """One route's logs (already matched and scrubbed, in log_id order) in messages of their own.

    ``texts``: each log's JSON as Auth0 sent it (only for logs a route did not scrub). A log too large
    for SQS becomes a dead-letter stub, as in :func:`~auth0_webhooks.queue.batch_messages`.
    """
    messages = batch_messages(logs, batch_size, texts=texts)
    extra: dict[str, str] = {}
    if route != DEFAULT_ROUTE_ID:
        extra[ROUTE] = route
    if replayed:
        extra[REPLAYED] = "true"
    if not extra:
        return messages
    made: list[Message] = []
    for message in messages:
        attributes = {**message.attributes, **extra}
        if not message.dead_letter:
            attributes[WEBHOOK_ID] = route_batch_id(route, message.log_ids)
        made.append(replace(message, attributes=attributes))
    return made
