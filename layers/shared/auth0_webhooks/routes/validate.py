"""Everything wrong in a parsed routes file, each problem naming the route, the field and what is allowed.

First what the JSON Schema (``routes.schema.json``) says, through jsonschema's ``iter_errors``
(every error, not the first), then what a schema cannot say: known categories, https, no
credentials in URLs, reserved headers, secrets under the stack's prefix, unique ids, PII paths
that can be changed.

>>> [str(p) for p in errors({"routes": [{"id": "a", "destination": {"type": "eventbridge"}}]})]
['route a: destination.bus: is required']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]  # no stubs pinned; used in two functions below

from ..filters import log_levels
from .match import CATEGORIES
from .model import Route, SecretRef
from .pii import path_problem

# Headers the deliverer sets itself; a route's static headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-encoding",
        "content-length",
        "host",
        "transfer-encoding",
        "webhook-id",
        "webhook-replayed",
        "webhook-signature",
        "webhook-timestamp",
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a routes file."""

    route: str  # the route's id, or its position ("#2") when it has none, or "" for the file
    field: str  # dotted, inside the route: destination.url, match.categories[1]
    message: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (f"route {self.route}" if self.route else "", self.field) if part)
        return f"{where}: {self.message}" if where else self.message


@cache
def schema() -> Mapping[str, Any]:
    """The JSON Schema of a routes file, as shipped with the package."""
    text = resources.files(__package__).joinpath("routes.schema.json").read_text(encoding="utf-8")
    return cast(Mapping[str, Any], json.loads(text))


def errors(data: Any, secret_prefix: str | None = None) -> list[Problem]:
    """Every error in a parsed routes file (empty when it is good)."""
    found = [_schema_problem(data, error) for error in _validator().iter_errors(data)]
    found.sort(key=lambda problem: (_route_order(data, problem.route), problem.field))
    if not isinstance(data, Mapping) or not isinstance(data.get("routes"), list):
        return found
    seen: dict[str, int] = {}
    for position, raw in enumerate(data["routes"], start=1):
        if isinstance(raw, Mapping):
            route = _route_name(raw, position)
            if isinstance(raw.get("id"), str):
                if raw["id"] in seen:
                    found.append(
                        Problem(route, "id", f"is also the id of route #{seen[raw['id']]}; ids must be unique")
                    )
                seen.setdefault(raw["id"], position)
            found += _semantic_problems(route, raw, secret_prefix)
    return found


def warnings(routes: Sequence[Route]) -> list[Problem]:
    """What is allowed but probably not meant."""
    found = []
    for route in routes:
        for name in ("types", "exclude_types"):
            unknown = sorted(code for code in getattr(route.match, name) if code not in log_levels())
            if unknown:
                found.append(
                    Problem(
                        route.id, f"match.{name}", f"{', '.join(unknown)}: not in the log type table (kept as given)"
                    )
                )
        if route.pii.hash_key_secret is not None and not route.pii.hash:
            found.append(Problem(route.id, "pii.hash_key_secret", "is set but pii.hash lists no field"))
    return found


# -- checks ---------------------------------------------------------------------------------------


@cache
def _validator() -> Any:
    return jsonschema.validators.validator_for(schema())(schema())


def _route_name(raw: Mapping[str, Any], position: int) -> str:
    route_id = raw.get("id")
    return route_id if isinstance(route_id, str) and route_id else f"#{position}"


def _route_order(data: Any, route: str) -> int:
    if route.startswith("#") and route[1:].isdigit():
        return int(route[1:])
    routes = data.get("routes") if isinstance(data, Mapping) else None
    for position, raw in enumerate(routes if isinstance(routes, list) else [], start=1):
        if isinstance(raw, Mapping) and raw.get("id") == route:
            return position
    return 0


def _schema_problem(data: Any, error: Any) -> Problem:
    path = list(error.absolute_path)
    route = ""
    if len(path) >= 2 and path[0] == "routes" and isinstance(path[1], int):
        raw = data["routes"][path[1]]
        route = _route_name(raw, path[1] + 1) if isinstance(raw, Mapping) else f"#{path[1] + 1}"
        path = path[2:]
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return _explain(route, field, error)


def _explain(route: str, field: str, error: Any) -> Problem:
    """A sentence for one of jsonschema's ValidationErrors, naming what is allowed."""
    kind, schema_part, value = error.validator, error.schema, error.instance
    if kind == "additionalProperties" and isinstance(value, Mapping) and isinstance(schema_part, Mapping):
        allowed = sorted(schema_part.get("properties", {}))
        extra = sorted(name for name in value if name not in allowed)
        prefix = f"{field}." if field else ""
        fields = ", ".join(f"{prefix}{name}" for name in extra)
        return Problem(route, fields, f"unknown field; allowed: {', '.join(allowed)}")
    if kind == "required":
        missing = str(error.message).split("'")[1]
        return Problem(route, f"{field}.{missing}".lstrip("."), "is required")
    if kind in ("enum", "const"):
        options = error.validator_value if kind == "enum" else [error.validator_value]
        return Problem(route, field, f"must be one of {', '.join(map(str, options))}; got {value!r}")
    if kind == "pattern" and isinstance(schema_part, Mapping):
        what = schema_part.get("description") or f"text matching {error.validator_value}"
        return Problem(route, field, f"must be {what[0].lower()}{what[1:]}; got {value!r}")
    if kind == "type":
        return Problem(route, field, f"must be of type {error.validator_value}; got {type(value).__name__}")
    return Problem(route, field, str(error.message))


def _semantic_problems(route: str, raw: Mapping[str, Any], secret_prefix: str | None) -> list[Problem]:
    found: list[Problem] = []
    match, pii, destination = (_part(raw, name) for name in ("match", "pii", "destination"))
    for index, name in enumerate(match.get("categories") or []):
        if isinstance(name, str) and name not in CATEGORIES:
            found.append(
                Problem(
                    route, f"match.categories[{index}]", f"unknown category {name!r}; allowed: {_ALLOWED_CATEGORIES}"
                )
            )
    methods: dict[str, str] = {}
    for method in ("hash", "mask", "drop"):
        for index, path in enumerate(pii.get(method) or []):
            if not isinstance(path, str):
                continue
            problem = path_problem(path)
            if problem and problem.endswith("cannot be changed)"):
                found.append(Problem(route, f"pii.{method}[{index}]", f"cannot {method} {problem}"))
            if path in methods:
                found.append(Problem(route, f"pii.{method}[{index}]", f"{path} is already under pii.{methods[path]}"))
            methods.setdefault(path, method)
    if pii.get("hash") and not pii.get("hash_key_secret"):
        found.append(
            Problem(route, "pii.hash_key_secret", "is required to hash (the name of the secret holding the key)")
        )
    if destination.get("type") == "webhook":
        found += _webhook_problems(route, destination)
    prefix = (secret_prefix or "").strip("/")
    for field, reference in _secret_fields(pii, destination):
        if (
            isinstance(reference, str)
            and secret_prefix
            and not _under_prefix(SecretRef.parse(reference), secret_prefix)
        ):
            found.append(
                Problem(
                    route,
                    field,
                    f"must name a secret under this stack's prefix ({prefix}/ in Secrets Manager, "
                    f"/{prefix}/ in SSM): the functions may read no other; got {reference!r}",
                )
            )
    return found


def _part(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, Mapping) else {}


_ALLOWED_CATEGORIES = ", ".join(sorted(CATEGORIES))


def _webhook_problems(route: str, destination: Mapping[str, Any]) -> list[Problem]:
    found = []
    url = destination.get("url")
    if isinstance(url, str):
        parts = urlsplit(url)
        insecure = destination.get("allow_insecure") is True
        allowed = "an https:// URL (http:// only with allow_insecure: true, for local runs)"
        try:
            parts.port  # noqa: B018  # raises ValueError on a bad port
            good = parts.scheme in ("https", "http") and bool(parts.hostname)
        except ValueError:
            good = False
        if not good or (parts.scheme == "http" and not insecure):
            found.append(Problem(route, "destination.url", f"must be {allowed}; got {_redacted(url)!r}"))
        elif parts.username or parts.password:
            found.append(
                Problem(route, "destination.url", "must not hold credentials: name a secret in authorization_secret")
            )
    headers = destination.get("headers")
    for name in headers if isinstance(headers, Mapping) else {}:
        if isinstance(name, str) and name.lower() in RESERVED_HEADERS:
            found.append(
                Problem(route, f"destination.headers.{name}", "is set by the deliverer itself; use another header")
            )
    return found


def _redacted(url: str) -> str:
    """The URL without user info (a credential must not reach an error message)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="****@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def _secret_fields(pii: Mapping[str, Any], destination: Mapping[str, Any]) -> list[tuple[str, Any]]:
    fields = [("pii.hash_key_secret", pii.get("hash_key_secret"))]
    for name in ("authorization_secret", "signing_secret", "webhook_url_secret"):
        fields.append((f"destination.{name}", destination.get(name)))
    return [(field, value) for field, value in fields if value is not None]


def _under_prefix(ref: SecretRef, prefix: str) -> bool:
    prefix = prefix.strip("/") + "/"
    return ref.short_name.startswith(f"/{prefix}" if ref.kind == "ssm" else prefix)
