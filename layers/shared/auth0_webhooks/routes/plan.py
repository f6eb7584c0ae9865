"""Routes ready to run: each route's matcher and PII transform built once, and the fan-out of a
page of logs into each route's own (scrubbed) list, which the poller queues in messages of their own.

>>> from .model import Match, Pii, Route, WebhookDestination
>>> hook = WebhookDestination(url="https://x.example")
>>> routes = [
...     compile_route(Route("all", hook, pii=Pii(mask=("ip",))), hash_key=None),
...     compile_route(Route("fails", hook, match=Match(types=frozenset({"f"}))), hash_key=None),
... ]
>>> out = fan_out(routes, [{"log_id": "1", "type": "s", "ip": "10.0.0.1"}, {"log_id": "2", "type": "f"}, "junk"])
>>> {route: [log["log_id"] for log in logs] for route, logs in out.routed.items()}, out.routed["all"][0]["ip"]
({'all': ['1', '2'], 'fails': ['2']}, '****')
>>> out.malformed
['junk']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .match import LogPredicate, matcher
from .model import Route
from .pii import PiiTransform


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    matches: LogPredicate
    scrub: Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass
class FanOut:
    """Each route's logs in the order given (scrubbed), and the entries that are not log objects."""

    routed: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    malformed: list[Any] = field(default_factory=list)


def compile_route(route: Route, hash_key: bytes | None) -> CompiledRoute:
    """``hash_key``: the value of ``route.pii.hash_key_secret`` (required when the route hashes)."""
    scrub: Callable[[Mapping[str, Any]], Mapping[str, Any]] = (
        _unchanged if route.pii.empty else PiiTransform(route.pii, hash_key)
    )
    return CompiledRoute(route, matcher(route.match), scrub)


def fan_out(routes: Sequence[CompiledRoute], logs: Sequence[Any]) -> FanOut:
    """Every route's matching logs, scrubbed for it; a route with no match gets an empty list."""
    result = FanOut(routed={compiled.route.id: [] for compiled in routes})
    for log in logs:
        if not isinstance(log, Mapping):
            result.malformed.append(log)
            continue
        for compiled in routes:
            if compiled.matches(log):
                result.routed[compiled.route.id].append(compiled.scrub(log))
    return result


def _unchanged(log: Mapping[str, Any]) -> Mapping[str, Any]:
    return log
