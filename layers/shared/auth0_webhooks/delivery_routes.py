"""The deliverer's routes at cold start: each route's destination, built once per container.

With ``ROUTES_FILE``, the file's routes (a bad file raises its :class:`RoutesError`, listing every
problem as ``routes check`` does); the secrets they name are read once (cached, never printed).
Without it, the one route ``default`` from today's settings (``WEBHOOK_URL``, ``WEBHOOK_AUTHORIZATION``,
``WEBHOOK_SECRET``, ``SEND_AS_BATCH``, ``WEBHOOK_CONCURRENT_CALLS``, ``WEBHOOK_TIMEOUT``), which
sends exactly what the deliverer sent before routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from . import clients
from .destinations import Destination, Parts, build
from .env import _fetch_secret
from .errors import ConfigError
from .routes import default_route, load_routes
from .routes.model import Route, WebhookDestination
from .settings import DelivererSettings
from .signing import WebhookSigner

DEFAULT_ROUTE = "default"


@dataclass(frozen=True)
class Routing:
    destinations: Mapping[str, Destination]
    secrets: tuple[str, ...]  # every secret value read for them: masked in alerts and logs


@cache
def routing_for(settings: DelivererSettings) -> Routing:
    """Every route's destination; raises :class:`ConfigError` (a :class:`RoutesError` for the file)."""
    parts = Parts(clients.http_session, clients.events)
    if settings.routes_file is None:
        route = default_route(
            settings.webhook_url,
            send_as_batch=settings.send_as_batch,
            concurrency=settings.concurrency,
            timeout=settings.timeout,
        )
        secrets = {}
        if settings.authorization is not None:
            secrets["destination.authorization_secret"] = settings.authorization.reveal()
        if settings.signing_secret is not None:
            secrets["destination.signing_secret"] = settings.signing_secret.reveal()
        return Routing({route.id: build(route, secrets, parts, "WEBHOOK_TIMEOUT")}, tuple(secrets.values()))
    routes = load_routes(settings.routes_file, secret_prefix=settings.stack_name)
    destinations: dict[str, Destination] = {}
    values: list[str] = []
    for route in routes:
        secrets = read_secrets(route)
        destinations[route.id] = build(route, secrets, parts)
        values += secrets.values()
    return Routing(destinations, tuple(values))


def read_secrets(route: Route) -> dict[str, str]:
    """The values of the secrets a route's destination names, by field; errors name the route and field."""
    destination = route.destination
    found: dict[str, str] = {}
    if not isinstance(destination, WebhookDestination):
        return found
    for field, ref in (
        ("destination.authorization_secret", destination.authorization_secret),
        ("destination.signing_secret", destination.signing_secret),
    ):
        if ref is not None:
            found[field] = _fetch_secret(f"route {route.id}: {field}", ref.name)
    signing = found.get("destination.signing_secret")
    if signing is not None:
        try:
            WebhookSigner(signing)
        except ValueError as error:
            setting = f"route {route.id}: destination.signing_secret"
            raise ConfigError(setting, f"a Standard Webhooks secret (whsec_ + base64): {error}") from None
    return found
