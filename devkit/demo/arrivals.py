"""What each of the demo's routes received, beside what it should have: counts, formats, and PII.

A route should get every log the tenant produced that its ``match`` takes (worked out with the
library's own matcher); what arrived is read where a user would read it: the local receivers'
requests (gunzipped, lines split, Log Streams wrappers unwrapped) and the events the bus's
rule put on its queue. A log that did not arrive must be in the dead-letter queue with the
route's id. For a route with ``pii`` rules, every value under a hashed (or masked) field name is
counted as it arrived: hashed, or in clear. (The notification routes are :func:`.mail.mail_report`'s.)

>>> pii_counts([{"ip": "hmac-sha256:ab", "details": {"ip": "10.0.0.1"}}], ("ip",), "hmac-sha256:")
{'done': 1, 'clear': 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..aws import Stack
from ..receivers import Delivery
from .routes import DemoRoutes, events_received


def route_arrivals(
    routes: DemoRoutes, stack: Stack, produced: Sequence[Mapping[str, Any]], dead: Mapping[str, set[str]]
) -> dict[str, dict[str, Any]]:
    """By route id: what it should have got, what arrived, in which format, and how its PII arrived."""
    from auth0_webhooks.routes import parse_routes
    from auth0_webhooks.routes.model import EventBridgeDestination, WebhookDestination
    from auth0_webhooks.routes.pii import HASH_PREFIX, MASK
    from auth0_webhooks.routes.plan import compile_route

    report: dict[str, dict[str, Any]] = {}
    for route in parse_routes(routes.data):
        if not isinstance(route.destination, WebhookDestination | EventBridgeDestination):
            continue
        compiled = compile_route(route, routes.hash_key.encode() if route.pii.hash else None)
        expected = [str(e["log_id"]) for e in produced if compiled.matches(e)]
        if isinstance(route.destination, WebhookDestination):
            receiver = routes.receivers[route.id]
            with receiver.lock:
                deliveries = list(receiver.deliveries)
            logs, entry = _webhook(deliveries)
        else:
            events = events_received(stack, routes.events_queue_url)
            logs = [e["detail"] for e in events if isinstance(e.get("detail"), dict)]
            kinds = sorted({f"{e.get('source')} / {e.get('detail-type')}" for e in events})
            entry = {"destination": "eventbridge", "formats": kinds, "requests": len(events)}
        arrived = Counter(str(log.get("log_id")) for log in logs)
        in_dlq = dead.get(route.id, set())
        entry.update(
            expected=len(expected),
            received=len(arrived),
            duplicates=sum(arrived.values()) - len(arrived),
            dead_lettered=len(in_dlq),
            unexpected=len(set(arrived) - set(expected)),
            missing=[i for i in expected if i not in arrived and i not in in_dlq],
            down=route.id == routes.down,
        )
        for name, paths, prefix in (("hashed", route.pii.hash, HASH_PREFIX), ("masked", route.pii.mask, MASK)):
            if any("." not in path for path in paths):  # bare names: counted wherever they occur
                entry[name] = pii_counts(logs, paths, prefix)
        report[route.id] = entry
    return report


def _webhook(deliveries: Sequence[Delivery]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ok = [d for d in deliveries if 200 <= d.status < 300]
    formats = {d.shape + ("+gzip" if d.request.headers.get("content-encoding") == "gzip" else "") for d in ok}
    entry = {
        "destination": "webhook",
        "formats": sorted(formats),
        "requests": len(deliveries),
        "accepted": len(ok),
        "verified": sum(1 for d in deliveries if d.verified),
        "signed": any(d.verified is not None for d in deliveries),
        "refused": dict(Counter(str(d.status) for d in deliveries if not 200 <= d.status < 300)),
    }
    return [log for d in ok for log in d.logs], entry


def pii_counts(logs: Iterable[Mapping[str, Any]], paths: Sequence[str], prefix: str) -> dict[str, int]:
    """Values under the bare field names of ``paths``, at any depth: ``done`` (start with ``prefix``) or ``clear``."""
    names = {path for path in paths if "." not in path}
    counts = {"done": 0, "clear": 0}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key in names and isinstance(item, str):
                    counts["done" if item.startswith(prefix) else "clear"] += 1
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for log in logs:
        walk(log)
    return counts
