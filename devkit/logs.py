"""Synthetic Auth0 log entries in the real format: many types, users and IPs, ~1-2 KB each.

Log ids are 56 digits, ``900`` + the UTC time as ``YYYYMMDDhhmmss`` + more digits, so that
sorting ids as strings sorts them by time, as Auth0's do.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

# (type, description, weight): a realistic mix for a busy tenant
TYPES: list[tuple[str, str, int]] = [
    ("s", "Success Login", 40),
    ("seacft", "Successful exchange of Authorization Code for Access Token", 12),
    ("sercft", "Successful exchange of Refresh Token for Access Token", 10),
    ("fp", "Wrong email or password.", 8),
    ("f", "Failed Login", 3),
    ("fu", "Invalid username", 2),
    ("ss", "Success Signup", 3),
    ("scp", "Success Change Password", 2),
    ("slo", "Success Logout", 5),
    ("sapi", "Update a user", 4),
    ("fapi", "Failed API Operation", 1),
    ("mgmt_api_read", "Get a client", 1),
    ("gd_auth_succeed", "Second factor authentication succeeded", 2),
    ("gd_send_sms", "Guardian SMS sent", 1),
    ("limit_wc", "Blocked Account", 1),
    ("pwd_leak", "Breached password", 1),
    ("w", "Warning during login", 1),
    ("depnote", "Deprecation Notice", 1),
]
ENDPOINTS = ["users", "users", "users", "connections", "clients", "roles", "users-by-email", "resource-servers"]
AGENTS = [
    "Chrome 120.0.0 / Mac OS X 10.15.7",
    "Firefox 123.0.0 / Windows 10.0.0",
    "Safari 17.2.1 / iOS 17.2.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
]
CITIES = [
    ("DE", "DEU", "Germany", "Berlin", 52.52, 13.40, "Europe/Berlin", "EU"),
    ("US", "USA", "United States", "Seattle", 47.61, -122.33, "America/Los_Angeles", "NA"),
    ("BR", "BRA", "Brazil", "Sao Paulo", -23.55, -46.63, "America/Sao_Paulo", "SA"),
    ("JP", "JPN", "Japan", "Tokyo", 35.68, 139.69, "Asia/Tokyo", "AS"),
]


def make_log_id(when: datetime, seq: int) -> str:
    """A 56-digit id ordered by time, then by ``seq``."""
    return f"900{when:%Y%m%d%H%M%S}{when.microsecond // 1000:03d}{seq:036d}"


class LogFactory:
    """Makes log entries with increasing ids and dates. Same seed, same logs."""

    def __init__(self, seed: int = 1, start: datetime | None = None, tenant: str = "acme.eu.auth0.com") -> None:
        self.random = random.Random(seed)
        self.when = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        self.seq = 0
        self.tenant = tenant
        self.users = [f"auth0|{self.random.getrandbits(96):024x}" for _ in range(200)]
        self.ips = [f"203.0.113.{i}" for i in range(1, 120)] + [f"198.51.100.{i}" for i in range(1, 60)]

    def profiles(self) -> list[dict[str, Any]]:
        """A profile for each user the logs name (``LocalTenant.add_users``): ``user<i>@example.com``, as in
        the logs' ``user_name``; every tenth address unverified.

        >>> LogFactory(seed=1).profiles()[0]["email"], LogFactory(seed=1).profiles()[0]["email_verified"]
        ('user0@example.com', False)
        """
        return [
            {
                "user_id": user,
                "email": f"user{index}@example.com",
                "email_verified": index % 10 != 0,
                "name": f"User {index}",
            }
            for index, user in enumerate(self.users)
        ]

    def make(self, log_type: str | None = None, size: int | None = None, **fields: Any) -> dict[str, Any]:
        """One log; ``size`` pads ``details`` to about that many bytes (for large logs)."""
        rnd = self.random
        if log_type is None:
            log_type = rnd.choices([t for t, _, _ in TYPES], weights=[w for _, _, w in TYPES])[0]
        description = next((d for t, d, _ in TYPES if t == log_type), log_type)
        self.when += timedelta(milliseconds=rnd.randint(5, 400))
        self.seq += 1
        user = rnd.choice(self.users)
        city = rnd.choice(CITIES)
        entry: dict[str, Any] = {
            "date": self.when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "type": log_type,
            "description": description,
            "client_id": "Xy12AbCdEfGhIjKlMnOpQrStUvWx34yz",
            "client_name": "Storefront Web",
            "ip": rnd.choice(self.ips),
            "user_agent": rnd.choice(AGENTS),
            "hostname": self.tenant,
            "user_id": user,
            "user_name": f"user{self.users.index(user)}@example.com",
            "connection": "Username-Password-Authentication",
            "connection_id": "con_A1b2C3d4E5f6G7h8",
            "strategy": "auth0",
            "strategy_type": "database",
            "isMobile": rnd.random() < 0.3,
            "details": {
                "prompts": [{"name": "lock-password-authenticate", "elapsedTime": rnd.randint(50, 900)}],
                "initiatedAt": int(self.when.timestamp() * 1000),
                "session_id": f"{rnd.getrandbits(128):032x}",
                "stats": {"loginsCount": rnd.randint(1, 500)},
            },
            "location_info": dict(
                zip(
                    (
                        "country_code",
                        "country_code3",
                        "country_name",
                        "city_name",
                        "latitude",
                        "longitude",
                        "time_zone",
                        "continent_code",
                    ),
                    city,
                    strict=True,
                )
            ),
            "security_context": {
                "ja3": f"{rnd.getrandbits(128):032x}",
                "ja4": f"t13d1516h2_{rnd.getrandbits(48):012x}",
            },
        }
        if log_type.startswith("f") or log_type in ("limit_wc", "pwd_leak"):
            entry["details"]["error"] = {"message": description}
        if log_type in ("sapi", "fapi", "mgmt_api_read"):
            endpoint = rnd.choice(ENDPOINTS)
            entry["details"] = {
                "request": {
                    "method": rnd.choice(["patch", "POST", "delete"]),
                    "path": f"/api/v2/{endpoint}/{user}",
                    "query": {},
                    "body": {"blocked": rnd.random() < 0.5},
                    "channel": "https://manage.auth0.com/",
                    "ip": entry["ip"],
                    "auth": {"strategy": "jwt", "user": {"user_id": user}},
                },
                "response": {"statusCode": 200 if log_type != "fapi" else 400, "body": {"user_id": user}},
            }
        if size:
            filler = size - len(str(entry))
            if filler > 0:
                entry["details"]["padding"] = "x" * filler
        entry["log_id"] = entry["_id"] = make_log_id(self.when, self.seq)
        entry.update(fields)
        return entry

    def many(
        self, count: int, log_type: str | None = None, large_every: int = 0, large_size: int = 200_000
    ) -> list[dict[str, Any]]:
        """``count`` logs; every ``large_every``-th one is about ``large_size`` bytes."""
        return [
            self.make(log_type, size=large_size if large_every and (i + 1) % large_every == 0 else None)
            for i in range(count)
        ]
