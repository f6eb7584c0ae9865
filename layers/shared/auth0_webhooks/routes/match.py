"""Does a log belong to a route? Types, categories, level, Management API endpoint, client, connection.

Every condition a match names must hold; an empty match takes every log. A type code missing
from the package's table (a type Auth0 added since) has no category or level: those two
conditions keep it, and only ``types`` (which must name it) or ``exclude_types`` leave it out.

>>> from .model import Match
>>> security = matcher(Match(categories=frozenset({"system.notification"}), min_level=3))
>>> security({"type": "limit_wc"}), security({"type": "s"}), security({"type": "brand_new_type"})
(True, False, True)
>>> only_s = matcher(Match(types=frozenset({"s"})))
>>> only_s({"type": "s"}), only_s({"type": "brand_new_type"})
(True, False)
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..filters import LogFilter, log_levels
from .model import Match

# Log Streams' filter categories (log-streams.md); the last two appear only in the Terraform docs.
CATEGORIES = frozenset(
    {
        "auth.login.fail",
        "auth.login.notification",
        "auth.login.success",
        "auth.logout.fail",
        "auth.logout.success",
        "auth.signup.fail",
        "auth.signup.success",
        "auth.silent_auth.fail",
        "auth.silent_auth.success",
        "auth.token_exchange.fail",
        "auth.token_exchange.success",
        "management.fail",
        "management.success",
        "scim.event",
        "system.notification",
        "user.fail",
        "user.notification",
        "user.success",
        "actions",
        "other",
        "auth.ancillary.fail",
        "auth.ancillary.success",
    }
)

LogPredicate = Callable[[Mapping[str, Any]], bool]


@cache
def log_categories() -> Mapping[str, str]:
    """The Log Streams category of every type code that has one, from the package's ``log_types.tsv``
    (ten old or undocumented codes such as ``fapi`` and ``du`` have none: a category condition leaves them out)."""
    text = resources.files("auth0_webhooks").joinpath("log_types.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["code"]: row["category"] for row in rows if row["category"]}


def matcher(match: Match) -> LogPredicate:
    """A predicate over log entries for ``match`` (built once per route, called per log)."""
    by_type_and_endpoint = LogFilter(types=match.types, endpoints=match.api_endpoints)
    levels, categories = log_levels(), log_categories()

    def matches(log: Mapping[str, Any]) -> bool:
        log_type = log.get("type")
        log_type = log_type if isinstance(log_type, str) else ""
        if log_type in match.exclude_types or not by_type_and_endpoint(log):
            return False
        known = log_type in levels
        if known and match.min_level is not None and levels[log_type] < match.min_level:
            return False
        if known and match.categories and categories.get(log_type) not in match.categories:
            return False
        if match.client_ids and log.get("client_id") not in match.client_ids:
            return False
        return not match.connections or bool({log.get("connection"), log.get("connection_id")} & match.connections)

    return matches
