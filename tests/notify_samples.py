"""Realistic Auth0 logs for the notification tests, one per ready template (and the hostile ones)."""

from __future__ import annotations

from typing import Any

USER_ID = "auth0|6543f0a1b2c3d4e5f6a7b8c9"
CHROME = "Chrome 131.0.0 / Windows 10.0.0"


def log(log_id: str, type_: str, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "log_id": log_id,
        "date": "2026-11-02T09:14:03.120Z",
        "type": type_,
        "client_id": "Kx9uQe3HnWq0aPp2",
        "client_name": "Acme Web",
        "ip": "203.0.113.9",
        "user_agent": CHROME,
        "connection": "Username-Password-Authentication",
        "connection_id": "con_Wn8c2Kq8sWJ5vGZ1",
        "user_id": USER_ID,
        "user_name": "ana@example.com",
        "location_info": {
            "country_code": "PT",
            "country_code3": "PRT",
            "country_name": "Portugal",
            "city_name": "Lisbon",
            "latitude": 38.72,
            "longitude": -9.13,
            "time_zone": "Europe/Lisbon",
            "continent_code": "EU",
        },
        "details": {},
        "hostname": "acme.eu.auth0.com",
        "tenant_name": "acme",
    }
    entry.update(extra)
    return entry


RISKY = {
    "riskAssessment": {
        "confidence": "low",
        "version": "1",
        "assessments": {
            "NewDevice": {"confidence": "low", "code": "no_match", "details": {"device": "unknown"}},
            "ImpossibleTravel": {"confidence": "low", "code": "impossible_travel_from_last_login"},
            "UntrustedIP": {"confidence": "high", "code": "not_found_on_deny_list"},
        },
    }
}
FAMILIAR = {
    "riskAssessment": {
        "confidence": "high",
        "version": "1",
        "assessments": {
            "NewDevice": {"confidence": "high", "code": "match"},
            "ImpossibleTravel": {"confidence": "high", "code": "minimal_travel_from_last_login"},
        },
    }
}

# (template, log) pairs: every ready template against the logs it is meant for
READY: list[tuple[str, dict[str, Any]]] = [
    (
        "password-changed",
        log(
            "90020261102091403120000000000000000000000000000000000001",
            "scp",
            details={"description": "Password changed"},
        ),
    ),
    (
        "email-changed",
        log(
            "90020261102091403120000000000000000000000000000000000002",
            "sce",
            details={"body": {"email": "ana@example.com", "newEmail": "ana.new@example.com"}},
        ),
    ),
    ("phone-changed", log("90020261102091403120000000000000000000000000000000000003", "scpn")),
    (
        "mfa-enrolled",
        log(
            "90020261102091403120000000000000000000000000000000000004",
            "gd_enrollment_complete",
            details={"authenticator": {"type": "otp"}},
        ),
    ),
    ("mfa-removed", log("90020261102091403120000000000000000000000000000000000005", "gd_unenroll")),
    (
        "account-blocked",
        log(
            "90020261102091403120000000000000000000000000000000000006",
            "limit_wc",
            description="Too many failed login attempts from this IP address.",
        ),
    ),
    ("breached-password", log("90020261102091403120000000000000000000000000000000000007", "pwd_leak")),
    ("breached-password", log("90020261102091403120000000000000000000000000000000000008", "signup_pwd_leak")),
    ("breached-password", log("90020261102091403120000000000000000000000000000000000009", "reset_pwd_leak")),
    ("new-sign-in", log("90020261102091403120000000000000000000000000000000000010", "s", details=RISKY)),
    ("security-alert", log("90020261102091403120000000000000000000000000000000000011", "limit_wc")),
]

# a password-reset request: its details carry a live reset link no template may see
RESET_URL = "https://acme.eu.auth0.com/lo/reset?ticket=LIVE-SECRET-TICKET#"
RESET_REQUEST = log(
    "90020261102091403120000000000000000000000000000000000012",
    "scpr",
    details={"resetUrl": RESET_URL, "email": "ana@example.com"},
)
