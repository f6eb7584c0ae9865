"""A page of logs as SQS messages for every route, in an order the checkpoint can follow.

The page's entries (in ``log_id`` order) are cut into chunks of ``batch_size`` logs; each chunk
yields every route's messages before the next chunk's, so the messages SQS accepted before a
failure cover a prefix of the page. :func:`safe_checkpoint` says how far: up to the last log
below the smallest id of any message not accepted. A malformed entry (no id) is dead-lettered
once, before everything else, whatever the number of routes.

Each message of a route carries a ``route`` attribute naming it, and a ``webhook_id`` per route
and batch (``<route>_batch_`` + a hash of the ids). The ``default`` route's messages are exactly
today's: no ``route`` attribute (a message without one is the default route's, like those queued
before routes existed) and today's ``webhook_id``. A route without PII rules sends each log's
exact text from Auth0's reply (no copy, no encoding); a route with PII rules sends the scrubbed
log: the original values never enter SQS for that route.

>>> from .model import Match, Pii, Route, WebhookDestination
>>> from .plan import compile_route
>>> hook = WebhookDestination(url="https://x.example")
>>> routes = [
...     compile_route(Route("default", hook), hash_key=None),
...     compile_route(Route("fails", hook, match=Match(types=frozenset({"f"})), pii=Pii(mask=("ip",))), None),
... ]
>>> logs = [{"log_id": "1", "type": "s"}, {"log_id": "2", "type": "f", "ip": "10.0.0.1"}, "junk"]
>>> plan = page_messages(logs, None, routes, batch_size=100)
>>> [(m.attributes.get("route"), m.log_ids) for m in plan.messages]  # the malformed entry first, once
[(None, ()), (None, ('1', '2')), ('fails', ('2',))]
>>> plan.messages[2].body, plan.messages[2].attributes["webhook_id"].startswith("fails_batch_")
('[{"log_id":"2","type":"f","ip":"****"}]', True)
>>> plan.routed, safe_checkpoint(["1", "2"], plan.messages[2:])
({'default': 2, 'fails': 1}, '1')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..dead_letters import ROUTE, malformed_log
from ..log_entry import log_id
from ..messages import Message, dumps
from ..queue import batch_messages
from .formats import DEFAULT_ROUTE_ID
from .plan import CompiledRoute


@dataclass
class PageMessages:
    """What a page becomes: its messages in sending order, and how many logs each route took."""

    messages: list[Message] = field(default_factory=list)
    routed: dict[str, int] = field(default_factory=dict)
    kept: int = 0  # logs at least one route took


def page_messages(
    entries: Sequence[Any], texts: Sequence[str] | None, routes: Sequence[CompiledRoute], batch_size: int
) -> PageMessages:
    """Messages for ``entries`` (``texts``: each one's JSON as Auth0 sent it, or None): malformed ones
    first, then chunk by chunk, each route's messages for the chunk in the order of ``routes``."""
    plan = PageMessages(routed={compiled.route.id: 0 for compiled in routes})
    logs: list[tuple[Mapping[str, Any], str | None]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or log_id(entry) is None:
            plan.messages.append(malformed_log(entry))
        else:
            logs.append((entry, texts[index] if texts is not None else None))
    chunk_size = len(logs) if len(routes) == 1 else batch_size  # one route: a page packs as it always did
    for start in range(0, len(logs), max(1, chunk_size)):
        chunk = logs[start : start + max(1, chunk_size)]
        taken: set[int] = set()
        for compiled in routes:
            chosen = [(at, entry, text) for at, (entry, text) in enumerate(chunk) if compiled.matches(entry)]
            if not chosen:
                continue
            taken.update(at for at, _, _ in chosen)
            plan.routed[compiled.route.id] += len(chosen)
            plan.messages += _route_messages(compiled, [(entry, text) for _, entry, text in chosen], batch_size)
        plan.kept += len(taken)
    return plan


def _route_messages(
    compiled: CompiledRoute, logs: Sequence[tuple[Mapping[str, Any], str | None]], batch_size: int
) -> list[Message]:
    route_id = compiled.route.id
    if compiled.route.pii.empty:
        entries = [entry for entry, _ in logs]
        texts = [text for _, text in logs]
        known = None if any(text is None for text in texts) else [text or "" for text in texts]
    else:
        entries = [compiled.scrub(entry) for entry, _ in logs]
        known = [dumps(entry) for entry in entries]
    return [_tagged(message, route_id) for message in batch_messages(entries, batch_size, texts=known)]


def _tagged(message: Message, route_id: str) -> Message:
    if route_id == DEFAULT_ROUTE_ID:
        return message
    attributes = {**message.attributes, ROUTE: route_id}  # absent: the default route
    if not message.dead_letter:
        attributes["webhook_id"] = f"{route_id}_{message.attributes['webhook_id']}"
    return replace(message, attributes=attributes)


def safe_checkpoint(page_ids: Sequence[str], unsent: Sequence[Message]) -> str | None:
    """The last of ``page_ids`` (sorted) every message of which SQS accepted, given the messages it did not
    take (``unsent``, in sending order); None when nothing may move (a malformed entry came first).

    >>> safe_checkpoint(["1", "2", "3"], [Message("[]", {}, ("3",)), Message("[]", {}, ("2",))])
    '1'
    >>> safe_checkpoint(["1", "2"], []), safe_checkpoint(["1"], [Message("x", {}, (), dead_letter=True)])
    ('2', None)
    """
    if unsent and not unsent[0].log_ids:
        return None  # malformed entries go first: nothing after them was sent
    limit = min((m.log_ids[0] for m in unsent if m.log_ids), default=None)
    below = [entry_id for entry_id in page_ids if limit is None or entry_id < limit]
    return below[-1] if below else None
