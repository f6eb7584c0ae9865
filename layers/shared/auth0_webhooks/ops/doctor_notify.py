"""The doctor's Notifications check: with ``email`` or ``slack`` routes, may the application look users up?

One look-up of a user that does not exist (``GET /api/v2/users/{id}``): 404 (or 200) means the
``read:users`` scope is granted, 403 that it is not.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import requests

from ..auth0_source import Auth0LogSource
from ..env import Env
from ..errors import Auth0Error, RateLimited
from ..routes.load import routes_file
from ..settings import Auth0Settings
from .doctor import AUTH0_SECONDS, GRANT_PATH, Check, _settings_then


def notification_checks(environ: Mapping[str, str]) -> list[Check]:
    """The Notifications check when ``ROUTES_FILE`` names ``email`` or ``slack`` routes; none otherwise."""
    path = routes_file(environ)
    routes = notify_routes(path) if path else []
    if not routes:
        return []
    return [_settings_then(lambda: check_user_lookups(Auth0Settings.from_env(Env(environ)), routes), "Notifications")]


NO_SUCH_USER = "auth0|auth0-webhooks-doctor"  # looked up to learn whether read:users is granted


def notify_routes(path: Path) -> list[str]:
    """The ids of the routes file's ``email`` and ``slack`` routes (none if it cannot be read)."""
    from ..routes.check import check_file

    report = check_file(path)
    return [route.id for route in report.routes if route.destination.type in ("email", "slack")]


def check_user_lookups(settings: Auth0Settings, routes: list[str], seconds: float = AUTH0_SECONDS) -> Check:
    """One user look-up, as email and slack routes make: the application needs ``read:users``."""
    deadline = time.monotonic() + seconds
    source = Auth0LogSource(settings, requests.Session())
    name = "Notifications"
    try:
        token = source.token(lambda: deadline - time.monotonic())
        reply = source.session.get(
            f"{settings.base_url}/api/v2/users/{NO_SUCH_USER.replace('|', '%7C')}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except (Auth0Error, RateLimited, requests.RequestException) as error:
        return Check(name, False, f"could not try a user look-up ({type(error).__name__})").masked(
            [settings.client_secret.reveal()]
        )
    routes_named = ", ".join(routes)
    if reply.status_code in (200, 404):
        return Check(name, True, f"the application may look users up (read:users), for routes {routes_named}")
    if reply.status_code == 403:
        advice = f"the application lacks the read:users scope that routes {routes_named} need: grant it under"
        return Check(name, False, f"{advice} {GRANT_PATH} → Permissions")
    return Check(name, False, f"a user look-up answered HTTP {reply.status_code}")
