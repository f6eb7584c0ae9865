"""The deliverer's routes at cold start: each route's destination, built once per container.

With ``ROUTES_FILE``, the file's routes (a bad file raises its :class:`RoutesError`, listing every
problem as ``routes check`` does); the secrets they name are read once (cached, never printed).
Without it, or when it holds only comments (the shipped example), the one route ``default``
from today's settings (``WEBHOOK_URL``, ``WEBHOOK_AUTHORIZATION``,
``WEBHOOK_SECRET``, ``SEND_AS_BATCH``, ``WEBHOOK_CONCURRENT_CALLS``, ``WEBHOOK_TIMEOUT``), which
sends exactly what the deliverer sent before routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from . import clients
from .destinations import Destination, Parts, build
from .env import fetch_secret
from .errors import ConfigError
from .routes import default_route
from .routes.model import Route, SlackDestination, WebhookDestination
from .routes.runtime import file_routes
from .settings import DelivererSettings
from .signing import WebhookSigner


@dataclass(frozen=True)
class Routing:
    destinations: Mapping[str, Destination]
    secrets: tuple[str, ...]  # every secret value read for them: masked in alerts and logs


def routing_for(settings: DelivererSettings) -> Routing:
    """Every route's destination; raises :class:`ConfigError` (a :class:`RoutesError` for the file).

    Built once per container, and again when a secret's value changes (read through Powertools'
    5-minute cache), so a rotated secret is used without a redeploy.
    """
    routes = () if settings.routes_file is None else file_routes(settings.routes_file, settings.stack_name)
    if not routes:
        if not settings.webhook_url:
            raise ConfigError("WEBHOOK_URL", f"set, since the routes file {settings.routes_file} has no routes")
        return _default_routing(settings)
    return _routing(routes, tuple(tuple(read_secrets(route).items()) for route in routes))


@cache
def _default_routing(settings: DelivererSettings) -> Routing:
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
    destination = build(route, secrets, _parts(), "WEBHOOK_TIMEOUT")
    return Routing({route.id: destination}, tuple(secrets.values()))


@cache
def _routing(routes: tuple[Route, ...], secrets: tuple[tuple[tuple[str, str], ...], ...]) -> Routing:
    pairs = zip(routes, secrets, strict=True)
    destinations = {route.id: build(route, dict(values), _parts()) for route, values in pairs}
    return Routing(destinations, tuple(value for values in secrets for _, value in values))


def _parts() -> Parts:
    return Parts(clients.http_session, clients.events)


def read_secrets(route: Route) -> dict[str, str]:
    """The values of the secrets a route's destination names, by field; errors name the route and field."""
    destination = route.destination
    found: dict[str, str] = {}
    if isinstance(destination, SlackDestination):
        field = "destination.webhook_url_secret"
        found[field] = fetch_secret(f"route {route.id}: {field}", destination.webhook_url_secret.name)
        return found
    if not isinstance(destination, WebhookDestination):
        return found
    for field, ref in (
        ("destination.authorization_secret", destination.authorization_secret),
        ("destination.signing_secret", destination.signing_secret),
    ):
        if ref is not None:
            found[field] = fetch_secret(f"route {route.id}: {field}", ref.name)
    signing = found.get("destination.signing_secret")
    if signing is not None:
        try:
            WebhookSigner(signing)
        except ValueError as error:
            setting = f"route {route.id}: destination.signing_secret"
            raise ConfigError(setting, f"a Standard Webhooks secret (whsec_ + base64): {error}") from None
    return found
