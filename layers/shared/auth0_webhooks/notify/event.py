"""The ``event`` object templates see: an allow-list of plain strings and dicts, never the raw log.

Some logs carry live secrets (``scpr`` has a password-reset link in ``details``), so nothing
reaches a template unless it is named here. Every leaf is a string or a bool; a value the log
does not have is an empty string, so ``{{ event.ip | default: "unknown" }}`` works.

>>> event = build_event({"type": "scp", "date": "2026-11-02T09:14:03.120Z", "ip": "203.0.113.9",
...     "user_id": "auth0|1", "details": {"resetUrl": "https://secret"}}, tenant="acme")
>>> event["type"], event["date"], event["ip"], event["tenant"]
('scp', '2026-11-02 09:14 UTC', '203.0.113.9', 'acme')
>>> "details" in event or "resetUrl" in str(event)
False
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

# Every variable path a template may read. `templates.validate` checks templates against it.
ALLOWED_PATHS: frozenset[str] = frozenset(
    {
        "event.type",
        "event.description",
        "event.date",
        "event.date_iso",
        "event.ip",
        "event.location.city",
        "event.location.country",
        "event.location.country_code",
        "event.client.id",
        "event.client.name",
        "event.connection",
        "event.user_agent",
        "event.user.id",
        "event.user.name",
        "event.user.email",
        "event.risk.new_device",
        "event.risk.unusual_location",
        "event.tenant",
    }
)

# Adaptive MFA's ``details.riskAssessment.assessments`` codes that mean "not seen before" / "far away".
NEW_DEVICE_CODES = frozenset({"no_match"})
UNUSUAL_LOCATION_CODES = frozenset({"substantial_travel_from_last_login", "impossible_travel_from_last_login"})
MAX_FIELD_LENGTH = 200  # longer values (a hostile user agent) are cut


@dataclass(frozen=True)
class Recipient:
    """Who the log is about, from ``GET /api/v2/users/{id}`` (never from the log's typed fields)."""

    user_id: str
    email: str
    email_verified: bool
    name: str


def build_event(log: Mapping[str, Any], recipient: Recipient | None = None, tenant: str = "") -> dict[str, Any]:
    """The allow-listed view of ``log`` (plus the looked-up recipient and the tenant's name)."""
    location = _mapping(log.get("location_info"))
    assessments = _mapping(_mapping(_mapping(log.get("details")).get("riskAssessment")).get("assessments"))
    code = _text(log.get("type"))
    return {
        "type": code,
        "description": _text(log.get("description")) or describe(code),
        "date": _human_date(_text(log.get("date"))),
        "date_iso": _text(log.get("date")),
        "ip": _text(log.get("ip")),
        "location": {
            "city": _text(location.get("city_name")),
            "country": _text(location.get("country_name")),
            "country_code": _text(location.get("country_code")),
        },
        "client": {"id": _text(log.get("client_id")), "name": _text(log.get("client_name"))},
        "connection": _text(log.get("connection")),
        "user_agent": _text(log.get("user_agent")),
        "user": {
            "id": recipient.user_id if recipient else _text(log.get("user_id")),
            "name": _text(recipient.name) if recipient else "",
            "email": _text(recipient.email) if recipient else "",
        },
        "risk": {
            "new_device": _text(_mapping(assessments.get("NewDevice")).get("code")) in NEW_DEVICE_CODES,
            "unusual_location": _text(_mapping(assessments.get("ImpossibleTravel")).get("code"))
            in UNUSUAL_LOCATION_CODES,
        },
        "tenant": _text(tenant),
    }


@cache
def _descriptions() -> dict[str, str]:
    text = resources.files("auth0_webhooks").joinpath("log_types.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["code"]: row["description"] for row in rows}


def describe(code: str) -> str:
    """The catalogue's description of a log type code (``''`` if unknown).

    >>> describe("scp")
    'Success Change Password'
    """
    return _descriptions().get(code, "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:MAX_FIELD_LENGTH]


def _human_date(value: str) -> str:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
