"""The routes a function runs with: the routes file ``ROUTES_FILE`` names, or the ``default`` route.

The file is read and checked once per container (a bad file raises :class:`RoutesError` listing
every problem, before the function reads or sends anything); a YAML file holding only comments
means "no routes", the ``default`` route. Secrets the file names are checked to be under the
stack's prefix (``STACK_NAME``) when it is set. PII hash keys are read with the environment's
secret fetching (cached by Powertools, so a rotated key is picked up within minutes); their
values never appear in logs or errors, only the setting and the secret's name.

>>> from .load import default_route
>>> [route.id for route in configured_routes(None, default=default_route("https://hooks.example"))]
['default']
>>> poller_routes(None)
()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from ..env import fetch_secret
from .load import parse_routes, read_yaml
from .model import Route
from .plan import CompiledRoute, compile_route

STACK_NAME_SETTING = "STACK_NAME"


@cache
def file_routes(path: Path, secret_prefix: str | None) -> tuple[Route, ...]:
    """The routes in ``path``, read and checked once per container; ``()`` for a file of only comments."""
    data = read_yaml(path)
    return () if data is None else parse_routes(data, secret_prefix=secret_prefix, source=str(path))


def configured_routes(path: Path | None, default: Route, environ: Mapping[str, str] | None = None) -> tuple[Route, ...]:
    """The routes in ``path`` (read once per container), or ``(default,)`` without a file or routes."""
    if path is None:
        return (default,)
    prefix = (os.environ if environ is None else environ).get(STACK_NAME_SETTING) or None
    return file_routes(path, prefix) or (default,)


def poller_routes(path: Path | None, environ: Mapping[str, str] | None = None) -> tuple[CompiledRoute, ...]:
    """The file's routes, each with its matcher and PII transform (hash keys read from their secrets);
    empty without a file or routes: then the poller runs the ``default`` route, its filter as it always was."""
    if path is None:
        return ()
    prefix = (os.environ if environ is None else environ).get(STACK_NAME_SETTING) or None
    return tuple(compile_route(route, _hash_key(route)) for route in file_routes(path, prefix))


def _hash_key(route: Route) -> bytes | None:
    secret = route.pii.hash_key_secret
    if secret is None or not route.pii.hash:
        return None
    return fetch_secret(f"route {route.id}: pii.hash_key_secret", secret.name).encode("utf-8")
