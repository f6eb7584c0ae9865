"""Read a routes file into typed routes, or build the single ``default`` route from today's settings.

>>> routes = parse_routes({"routes": [{"id": "siem", "destination": {"type": "webhook", "url": "https://siem.example"}}]})
>>> routes[0].id, routes[0].destination.format
('siem', 'array')
>>> parse_routes({"routes": [{"id": "x", "colour": 1, "destination": {"type": "webhook", "url": "http://x"}}]})
Traceback (most recent call last):
...
auth0_webhooks.errors.RoutesError: routes file has 2 errors:
  route x: colour: unknown field; allowed: description, destination, id, match, pii
  route x: destination.url: must be an https:// URL (http:// only with allow_insecure: true, for local runs); got 'http://x'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import yaml

from ..errors import RoutesError
from ..filters import LEVEL_NAMES
from .formats import DEFAULT_ROUTE_ID
from .model import (
    FORMAT_ALIASES,
    Destination,
    EmailDestination,
    EventBridgeDestination,
    Format,
    Match,
    Pii,
    Route,
    SecretRef,
    SlackDestination,
    WebhookDestination,
)
from .validate import errors

ROUTES_FILE_SETTING = "ROUTES_FILE"


def routes_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The routes file ``ROUTES_FILE`` names, or None (then :func:`default_route` applies)."""
    value = (os.environ if environ is None else environ).get(ROUTES_FILE_SETTING, "").strip()
    return Path(value) if value else None


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """The file's YAML, or a RoutesError naming the file and the line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506  # a SafeLoader
    except OSError as error:
        raise RoutesError(str(path), [f"cannot be read ({error.strerror or type(error).__name__})"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RoutesError(str(path), [f"is not valid YAML{where}: {getattr(error, 'problem', error)}"]) from None


def load_routes(path: Path, secret_prefix: str | None = None) -> tuple[Route, ...]:
    """The routes in ``path``; a RoutesError listing every problem if any."""
    return parse_routes(read_yaml(path), secret_prefix=secret_prefix, source=str(path))


def parse_routes(data: Any, secret_prefix: str | None = None, source: str = "routes file") -> tuple[Route, ...]:
    """Routes from a parsed routes file; a RoutesError listing every problem if any."""
    problems = [str(problem) for problem in errors(data, secret_prefix)]
    if problems:
        raise RoutesError(source, problems)
    return tuple(_route(raw) for raw in data["routes"])


def default_route(
    webhook_url: str,
    authorization_secret: str | None = None,
    signing_secret: str | None = None,
    send_as_batch: bool = True,
    log_types: Sequence[str] = (),
    min_log_level: int | None = None,
    api_endpoints: Sequence[str] = (),
    concurrency: int = 5,
    timeout: float = 10.0,
) -> Route:
    """The one route today's settings describe (WEBHOOK_URL, WEBHOOK_AUTHORIZATION_ARN, WEBHOOK_SECRET_ARN,
    SEND_AS_BATCH, LOG_TYPES, MIN_LOG_LEVEL, API_ENDPOINTS, WEBHOOK_CONCURRENT_CALLS, WEBHOOK_TIMEOUT), already
    checked by the settings module.

    >>> route = default_route("https://hooks.example/auth0", send_as_batch=False, log_types=["s", "f"])
    >>> route.id, route.destination.format, sorted(route.match.types)
    ('default', 'object', ['f', 's'])
    """
    destination = WebhookDestination(
        url=webhook_url,
        authorization_secret=SecretRef.parse(authorization_secret) if authorization_secret else None,
        signing_secret=SecretRef.parse(signing_secret) if signing_secret else None,
        format="array" if send_as_batch else "object",
        concurrency=concurrency,
        timeout=timeout,
    )
    match = Match(types=frozenset(log_types), min_level=min_log_level, api_endpoints=tuple(api_endpoints))
    return Route(id=DEFAULT_ROUTE_ID, destination=destination, match=match)


# -- building -------------------------------------------------------------------------------------


def _route(raw: Mapping[str, Any]) -> Route:
    match, pii = raw.get("match") or {}, raw.get("pii") or {}
    level = match.get("min_level")
    return Route(
        id=raw["id"],
        destination=_destination(raw["destination"]),
        match=Match(
            types=frozenset(match.get("types", ())),
            exclude_types=frozenset(match.get("exclude_types", ())),
            categories=frozenset(match.get("categories", ())),
            min_level=LEVEL_NAMES.index(level) if isinstance(level, str) else level,
            api_endpoints=tuple(match.get("api_endpoints", ())),
            client_ids=frozenset(match.get("client_ids", ())),
            connections=frozenset(match.get("connections", ())),
        ),
        pii=Pii(
            hash=tuple(pii.get("hash", ())),
            mask=tuple(pii.get("mask", ())),
            drop=tuple(pii.get("drop", ())),
            hash_key_secret=_secret(pii.get("hash_key_secret")),
        ),
    )


def _destination(raw: Mapping[str, Any]) -> Destination:
    if raw["type"] == "eventbridge":
        return EventBridgeDestination(bus=raw["bus"])
    if raw["type"] == "slack":
        return SlackDestination(SecretRef.parse(raw["webhook_url_secret"]), raw["template"])
    if raw["type"] == "email":
        return EmailDestination(raw["template"], raw["from"].strip(), raw.get("send_to_unverified", False))
    defaults = WebhookDestination(url=raw["url"])
    fmt = raw.get("format", defaults.format)
    return WebhookDestination(
        url=raw["url"],
        authorization_secret=_secret(raw.get("authorization_secret")),
        signing_secret=_secret(raw.get("signing_secret")),
        headers=tuple(sorted((raw.get("headers") or {}).items())),
        format=cast(Format, FORMAT_ALIASES.get(fmt, fmt)),
        compression=raw.get("compression", defaults.compression),
        batch_size=raw.get("batch_size", defaults.batch_size),
        concurrency=raw.get("concurrency", defaults.concurrency),
        timeout=float(raw.get("timeout", defaults.timeout)),
        max_per_second=raw.get("max_per_second"),
    )


def _secret(reference: str | None) -> SecretRef | None:
    return SecretRef.parse(reference) if reference else None
